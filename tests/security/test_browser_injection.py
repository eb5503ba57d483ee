"""Issue 16 in Chromium: no foreign script on the embed page, no live Markdown from users.

A tracker (a tiny HTTP server on another local port) records every request it receives:
- ``embed.html?server=<tracker>`` and ``?server=data:...`` must not load or run anything;
- a prompt with ``![x](<tracker>/px.png)`` and a ``javascript:`` link, seen by its author
  and in the shared view, must fetch nothing from the tracker and show no such link.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import pytest
from playwright.async_api import BrowserContext, Page, expect

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class Tracker:
    """A local HTTP server that answers everything with a pixel and remembers each request."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        self.requests.append(line.decode("latin-1").strip())
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nAccess-Control-Allow-Origin: *\r\n"
            + f"Content-Length: {len(PIXEL)}\r\nConnection: close\r\n\r\n".encode()
            + PIXEL
        )
        await writer.drain()
        writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def tracker() -> AsyncIterator[Tracker]:
    found = Tracker()
    server = await asyncio.start_server(found._serve, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    async with server:
        yield found


async def send(page: Page, text: str) -> None:
    """Type a message and send it once the composer accepts it."""
    await page.locator("#chat-input").fill(text)
    submit = page.locator("#chat-submit")
    await expect(submit).to_be_enabled(timeout=TIMEOUT_MS)
    await submit.click()
    await expect(page.locator("#chat-input")).to_have_value("", timeout=TIMEOUT_MS)


async def test_embed_page_takes_no_script_address_from_its_url(
    harness: ModuleType,
    browser: BrowserContext,
    tracker: Tracker,
    tmp_path: Path,
    output_dir: Path,
) -> None:
    async with harness.run_server(tmp_path / "data") as server:
        page = await browser.new_page()
        for server_param in (tracker.url, "data:text/javascript,window.pwned=1//"):
            response = await page.goto(f"{server.url}/public/embed.html?server={server_param}")
            assert response is not None
            policy = response.headers.get("content-security-policy", "")
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split(";")[1]
            # The widget still comes up, from the page's own server.
            await expect(page.locator("#chainlit-copilot-button")).to_be_visible(timeout=TIMEOUT_MS)
            assert await page.evaluate("window.pwned") is None
        await page.screenshot(path=str(output_dir / "security-embed-no-foreign-script.png"))
    assert tracker.requests == []


async def sign_in(page: Page, url: str, user: str, password: str) -> None:
    """Sign in through the login page, as a person does."""
    await page.goto(f"{url}/login")
    await page.locator("#email").fill(user)
    await page.locator("#password").fill(password)
    await page.locator("#password").press("Enter")
    await expect(page.locator("#chat-input")).to_be_visible(timeout=TIMEOUT_MS)


async def test_markdown_in_prompts_stays_text_for_author_and_share_viewers(
    harness: ModuleType,
    browser: BrowserContext,
    tracker: Tracker,
    tmp_path: Path,
    output_dir: Path,
) -> None:
    prompt = (
        f"a red kite ![x]({tracker.url}/px.png) "
        "[free prints](javascript:alert(document.cookie)) and **bold** words"
    )
    env = {"ATELIER_USERS": "alice:pw1,bob:pw2", "ATELIER_QUALITY": "low"}
    async with harness.run_server(tmp_path / "data", env) as server:
        page = await browser.new_page()
        await sign_in(page, server.url, "alice", "pw1")
        await send(page, prompt)
        await expect(page.get_by_text("This turn $")).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(page).to_have_url(re.compile(r"/thread/"), timeout=TIMEOUT_MS)
        thread_id = page.url.rstrip("/").rsplit("/", 1)[-1]
        await page.screenshot(path=str(output_dir / "security-markdown-author.png"))
        assert await page.locator('a[href^="javascript:"]').count() == 0
        assert await page.locator(f'img[src^="{tracker.url}"]').count() == 0
        shared = await page.request.put(
            f"{server.url}/project/thread/share",
            data={"threadId": thread_id, "isShared": True},
            headers={"Origin": server.url},
        )
        assert shared.ok, await shared.text()

        await browser.clear_cookies()
        await sign_in(page, server.url, "bob", "pw2")
        await page.goto(f"{server.url}/share/{thread_id}")
        await expect(page.get_by_text("free prints").first).to_be_visible(timeout=TIMEOUT_MS)
        await page.screenshot(path=str(output_dir / "security-markdown-share-view.png"))
        assert await page.locator('a[href^="javascript:"]').count() == 0
        assert await page.get_by_role("link", name="free prints").count() == 0
        assert await page.locator(f'img[src^="{tracker.url}"]').count() == 0
    assert tracker.requests == []
