"""Issue 12 in Chromium, single-user mode: the widget's visitor identity stays in the widget.

A browser that opened the help page first holds the widget visitor's cookie (Chainlit keeps
one per origin). The studio opened next must still be the owner's, with the owner's
history, not an empty visitor's.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from playwright.async_api import BrowserContext, expect

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000


async def test_studio_after_the_widget_page_is_the_owners(
    harness: ModuleType, browser: BrowserContext, tmp_path: Path, output_dir: Path
) -> None:
    async with harness.run_server(tmp_path / "data") as server:
        page = await browser.new_page()
        await page.goto(f"{server.url}/public/embed.html")
        await page.locator("#chainlit-copilot-button").click()
        await expect(page.get_by_text("Atelier help assistant")).to_be_visible(timeout=TIMEOUT_MS)
        visitor = await page.evaluate("fetch('/user').then(r => r.json())")
        assert str(visitor["identifier"]).startswith(":widget-")

        await page.goto(server.url)
        await expect(page.locator("#chat-settings-open-modal")).to_be_visible(timeout=TIMEOUT_MS)
        owner = await page.evaluate("fetch('/user').then(r => r.json())")
        assert owner["identifier"] == ":local"
        await page.screenshot(path=str(output_dir / "security-studio-after-widget.png"))
