"""What browser tests do to a page: watch it for anything broken, open the chat."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import ConsoleMessage, Page, Request, Response, expect

TIMEOUT_MS = 60_000


async def open_chat(page: Page, url: str) -> None:
    """Load the app until the chat has started (its settings button is shown).

    Chainlit's first load sometimes leaves the page without a socket on a busy machine: the
    chat never starts. Reloading once is what a person would do; a second miss fails.
    """
    settings = page.locator("#chat-settings-open-modal")
    await page.goto(url)
    try:
        await expect(settings).to_be_visible(timeout=TIMEOUT_MS // 3)
    except AssertionError:
        await page.reload()
        await expect(settings).to_be_visible(timeout=TIMEOUT_MS)


class PageWatch:
    """Everything on a page that a person would count as broken, recorded as it happens.

    Page errors (uncaught exceptions), console errors, failed responses (4xx/5xx) and any
    request to a host other than the app's ("nothing leaves the machine").
    """

    def __init__(self, page: Page, app_url: str) -> None:
        self.app = urlsplit(app_url).netloc
        self.problems: list[str] = []
        self.requests: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console)
        page.on("request", self._request)
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text[:300]}")

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != self.app:
            self.problems.append(f"request to another host: {request.url[:200]}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url[:200]}")

    def assert_clean(self, when: str) -> None:
        """Fail, naming every problem seen so far."""
        assert not self.problems, f"{when}:\n" + "\n".join(self.problems)
