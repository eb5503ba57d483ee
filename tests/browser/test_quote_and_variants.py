"""A person in Chromium: an expensive turn is quoted first (nothing reaches the engine before
Go; Cheaper fits the threshold), and 8 variations arrive as a grid of 2 rows of 4.

Every page error, console error and off-origin request fails the test. The engine's own
request counter is read from /atelier/metrics (this machine may read it).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sqlite3
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from playwright.async_api import BrowserContext, Page, expect

from agent.config import Settings
from tests.browser.pages import PageWatch, open_chat

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000


async def _chat(
    harness: ModuleType, browser: BrowserContext, data: Path, env: dict[str, str]
) -> AsyncIterator[tuple[Page, str]]:
    async with harness.run_server(data, env) as server:
        page = await browser.new_page()
        errors = PageWatch(page, server.url)
        try:
            await open_chat(page, server.url)
            yield page, server.url
        except BaseException:
            print(server.log())
            raise
        errors.assert_clean("the page was not clean")


@pytest.fixture
async def dear_chat(
    harness: ModuleType, browser: BrowserContext, tmp_path: Path
) -> AsyncIterator[tuple[Page, str, Path]]:
    """A chat whose turns are 2048x2048, high: well above the default $0.25."""
    data = tmp_path / "data"
    env = {"ATELIER_SIZE": "2048x2048", "ATELIER_QUALITY": "high", "ATELIER_PARTIAL_IMAGES": "0"}
    async for page, url in _chat(harness, browser, data, env):
        yield page, url, data


@pytest.fixture
async def variants_chat(
    harness: ModuleType, browser: BrowserContext, tmp_path: Path
) -> AsyncIterator[tuple[Page, str, Path]]:
    """A chat set to 8 variations, at low quality (under the threshold: no quote)."""
    data = tmp_path / "data"
    env = {"ATELIER_QUALITY": "low", "ATELIER_PARTIAL_IMAGES": "0", "ATELIER_VARIANTS": "8"}
    async for page, url in _chat(harness, browser, data, env):
        yield page, url, data


async def send(page: Page, text: str) -> None:
    """Type a message and send it once the composer accepts it."""
    await page.locator("#chat-input").fill(text)
    submit = page.locator("#chat-submit")
    await expect(submit).to_be_enabled(timeout=TIMEOUT_MS)
    await submit.click()
    await expect(page.locator("#chat-input")).to_have_value("", timeout=TIMEOUT_MS)


async def engine_requests(page: Page, url: str) -> int:
    """Requests the server's embedded engine has received so far."""
    response = await page.request.get(f"{url}/atelier/metrics")
    assert response.status == 200, await response.text()
    count = (await response.json())["engine_requests"]
    assert isinstance(count, int)
    return count


def stored_images(data: Path) -> list[tuple[str, str, str | None]]:
    """(size, quality, parent id) of every stored image, oldest first. Blocking."""
    path = Settings(_env_file=None, data_dir=data).db_path  # type: ignore[call-arg]
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT size, quality, parent_id FROM images ORDER BY created_at"
        ).fetchall()
    return [(str(r[0]), str(r[1]), r[2]) for r in rows]


def dollars(text: str) -> list[Decimal]:
    return [Decimal(amount) for amount in re.findall(r"\$([0-9]+(?:\.[0-9]+)?)", text)]


async def test_a_quote_sends_nothing_before_go_and_cheaper_fits(
    dear_chat: tuple[Page, str, Path], output_dir: Path
) -> None:
    page, url, data = dear_chat
    assert await engine_requests(page, url) == 0
    await send(page, "Give me 3 options of a lighthouse poster")
    quote = page.get_by_text("Before I start:")
    await expect(quote).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.get_by_text("3 images at 2048x2048, high")).to_be_visible()
    go = page.get_by_role("button", name="Go", exact=True)
    cheaper = page.get_by_role("button", name="Cheaper")
    cancel = page.get_by_role("button", name="Cancel")
    for button in (go, cheaper, cancel):
        await expect(button).to_be_visible()
    await page.screenshot(path=str(output_dir / "quote-before-spending.png"))
    assert await engine_requests(page, url) == 0  # the quote itself sent nothing

    await cancel.click()
    await expect(page.get_by_text("Cancelled: nothing was sent.")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(go).to_have_count(0)
    assert await engine_requests(page, url) == 0
    assert await asyncio.to_thread(stored_images, data) == []

    await send(page, "Give me 3 options of a lighthouse poster")
    await expect(page.get_by_role("button", name="Cheaper")).to_be_visible(timeout=TIMEOUT_MS)
    assert await engine_requests(page, url) == 0
    await page.get_by_role("button", name="Cheaper").click()
    sent = page.get_by_text("Sent cheaper: about $")
    await expect(sent).to_be_visible(timeout=TIMEOUT_MS)
    bill = page.get_by_text("This turn $")
    await expect(bill).to_have_count(1, timeout=TIMEOUT_MS)
    assert await engine_requests(page, url) == 1
    (promised,) = dollars(await sent.inner_text())
    assert promised <= Decimal("0.25")
    assert dollars(await bill.inner_text())[0] <= promised  # billed within the quote
    images = await asyncio.to_thread(stored_images, data)
    assert len(images) == 3 and {(s, q) for s, q, _ in images} == {("2048x2048", "low")}
    await page.screenshot(path=str(output_dir / "quote-cheaper-sent.png"))

    # Go sends the request as asked, once.
    await send(page, "Give me 2 options of a red barn")
    await expect(page.get_by_role("button", name="Go", exact=True)).to_be_visible(
        timeout=TIMEOUT_MS
    )
    assert await engine_requests(page, url) == 1
    await page.get_by_role("button", name="Go", exact=True).click()
    await expect(page.get_by_text("This turn $")).to_have_count(2, timeout=TIMEOUT_MS)
    assert await engine_requests(page, url) == 1 + 1
    images = await asyncio.to_thread(stored_images, data)
    assert [(s, q) for s, q, _ in images[3:]] == [("2048x2048", "high")] * 2


async def test_eight_variations_arrive_as_a_grid(
    variants_chat: tuple[Page, str, Path], output_dir: Path
) -> None:
    page, url, data = variants_chat
    await send(page, "A lighthouse poster at dusk")
    await expect(page.get_by_text("This turn $")).to_have_count(1, timeout=TIMEOUT_MS)
    await page.get_by_role("button", name="Variations").first.click()
    await expect(page.get_by_text("This turn $")).to_have_count(2, timeout=TIMEOUT_MS)
    assert await engine_requests(page, url) == 2
    images = await asyncio.to_thread(stored_images, data)
    assert len(images) == 9 and all(parent is not None for _, _, parent in images[1:])

    pictures = page.locator('img[alt$=".png"]')
    await expect(pictures).to_have_count(9, timeout=TIMEOUT_MS)
    gallery = pictures.nth(1).locator("xpath=ancestor::div[contains(@class,'grid-cols-4')][1]")
    tiles = gallery.locator('img[alt$=".png"]')
    await expect(tiles).to_have_count(8)
    await tiles.nth(7).scroll_into_view_if_needed()
    boxes = []
    for i in range(8):
        box = await tiles.nth(i).bounding_box()
        assert box is not None
        boxes.append(box)
    rows = sorted({round(b["y"]) for b in boxes})
    assert len(rows) == 2, boxes  # 2 rows ...
    for row in rows:
        in_row = sorted((b for b in boxes if round(b["y"]) == row), key=lambda b: b["x"])
        assert len(in_row) == 4, boxes  # ... of 4, side by side, none overlapping
        assert all(a["x"] + a["width"] <= b["x"] for a, b in itertools.pairwise(in_row))
        assert all(b["width"] > 120 for b in in_row)
    await gallery.evaluate("e => e.scrollIntoView({block: 'start'})")
    await page.screenshot(path=str(output_dir / "variants-grid.png"))

    # Each variant has its own numbered buttons; refining the third targets that image.
    await page.get_by_role("button", name="Refine 3").click()
    await expect(page.get_by_text("Refining image", exact=False)).to_be_visible(timeout=TIMEOUT_MS)
