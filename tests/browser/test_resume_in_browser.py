"""Nothing is lost on restart: after the server restarts, the thread reopens with its image
actually loaded (through the storage route) and its caption and bill."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from playwright.async_api import BrowserContext, expect

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000


async def test_thread_and_image_survive_a_restart(
    harness: ModuleType, browser: BrowserContext, tmp_path: Path, output_dir: Path
) -> None:
    data = tmp_path / "data"
    page = await browser.new_page()
    async with harness.run_server(data) as server:
        await page.goto(server.url)
        await expect(page.locator("#chat-settings-open-modal")).to_be_visible(timeout=TIMEOUT_MS)
        await page.locator("#chat-input").fill("A lighthouse poster at dusk")
        await expect(page.locator("#chat-submit")).to_be_enabled(timeout=TIMEOUT_MS)
        await page.locator("#chat-submit").click()
        await expect(page.get_by_text("This turn $")).to_have_count(1, timeout=TIMEOUT_MS)
        thread_path = page.url.removeprefix(server.url)
        assert thread_path.startswith("/thread/")

    async with harness.run_server(data) as server:
        await page.goto(server.url + thread_path)
        image = page.locator('img[alt$=".png"]')
        await expect(image).to_have_count(1, timeout=TIMEOUT_MS)
        # Loaded for real: the bytes came back through the guarded file route.
        loaded = await image.evaluate(
            "img => img.complete ? img.naturalWidth"
            " : new Promise(done => { img.onload = () => done(img.naturalWidth); })"
        )
        assert loaded == 1024
        await expect(page.get_by_text("This turn $")).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(page.get_by_text("Welcome back. This chat has 1 image(s)")).to_be_visible(
            timeout=TIMEOUT_MS
        )
        # The latest image gets its buttons back (Chainlit does not persist buttons).
        await expect(page.get_by_role("button", name="Refine this")).to_have_count(
            1, timeout=TIMEOUT_MS
        )
        await page.get_by_role("button", name="Refine this").scroll_into_view_if_needed()
        await page.screenshot(path=str(output_dir / "after-restart.png"))
