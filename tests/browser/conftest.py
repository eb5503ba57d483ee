"""Fixtures for the browser test: the e2e server harness and Debian's Chromium via Playwright.

Never downloads a browser: Playwright drives /usr/bin/chromium (the Makefile installs the
Debian package for CI) with a fresh profile directory per test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
    async_playwright,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture
def output_dir() -> Path:
    """Where screenshots go (test-output/, ignored by git)."""
    path = Path(__file__).resolve().parents[2] / "test-output"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """A Chromium context with a fresh profile and a desktop-sized window."""
    assert CHROMIUM.exists(), "Install Debian's chromium: apt-get install -y chromium"
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1360, "height": 900},
        )
        try:
            yield context
        finally:
            await context.close()


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


@pytest.fixture
def watch() -> Callable[[Page, str], PageWatch]:
    """Attach a PageWatch to a page: ``watch(page, server.url)``."""
    return PageWatch
