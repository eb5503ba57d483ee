"""A person in Chromium: prompt → image and bill → Refine this → second image → bill panel."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest
from playwright.async_api import BrowserContext, Page, expect

pytestmark = pytest.mark.browser

ENGINE_ENV = {"ATELIER_ENGINE_FAULT": "latency=200,400"}
TIMEOUT_MS = 60_000


async def send(page: Page, text: str) -> None:
    """Type a message and send it once the composer accepts it (not while a task runs)."""
    await page.locator("#chat-input").fill(text)
    submit = page.locator("#chat-submit")
    await expect(submit).to_be_enabled(timeout=TIMEOUT_MS)
    await submit.click()
    await expect(page.locator("#chat-input")).to_have_value("", timeout=TIMEOUT_MS)


async def test_prompt_refine_and_bill_panel(
    harness: ModuleType, browser: BrowserContext, tmp_path: Path, output_dir: Path
) -> None:
    async with harness.run_server(tmp_path / "data", ENGINE_ENV) as server:
        page = await browser.new_page()
        await page.goto(server.url)
        # Logged in (single-user header auth), connected, and the chat started: the settings
        # button appears once on_chat_start has sent the settings panel.
        await expect(page.locator("#chat-settings-open-modal")).to_be_visible(timeout=TIMEOUT_MS)

        await send(page, "A lighthouse poster at dusk")
        bill_lines = page.get_by_text("This turn $")
        await expect(bill_lines).to_have_count(1, timeout=TIMEOUT_MS)
        refine = page.get_by_role("button", name="Refine this")
        await expect(refine).to_have_count(1, timeout=TIMEOUT_MS)

        await refine.click()
        await expect(page.get_by_text("Refining image")).to_be_visible(timeout=TIMEOUT_MS)
        await send(page, "Make the sky warmer and add a small boat")
        await expect(bill_lines).to_have_count(2, timeout=TIMEOUT_MS)
        await expect(refine).to_have_count(2, timeout=TIMEOUT_MS)
        # The refined image's caption names the image it came from.
        await expect(page.get_by_text(re.compile(r"1024x1024 · \w+ · from"))).to_have_count(
            1, timeout=TIMEOUT_MS
        )
        await page.screenshot(path=str(output_dir / "after-refine.png"))

        await page.get_by_role("button", name="Bill").last.click()
        await expect(page.get_by_text("Session total $").first).to_be_visible(timeout=TIMEOUT_MS)
        chart = page.get_by_alt_text("Cumulative cost")
        # Fully inside the viewport = the side panel finished sliding in.
        await expect(chart).to_be_in_viewport(ratio=1, timeout=TIMEOUT_MS)
        await expect(page.get_by_role("columnheader", name="Total")).to_be_visible()
        await page.screenshot(path=str(output_dir / "bill-panel.png"))


async def test_copilot_widget_on_the_embed_page(
    harness: ModuleType, browser: BrowserContext, tmp_path: Path, output_dir: Path
) -> None:
    async with harness.run_server(tmp_path / "data", ENGINE_ENV) as server:
        page = await browser.new_page()
        await page.goto(f"{server.url}/public/embed.html")
        bubble = page.locator("#chainlit-copilot-button")
        await expect(bubble).to_be_visible(timeout=TIMEOUT_MS)
        await bubble.click()
        # The widget runs the Support profile: it greets as the help assistant...
        await expect(page.get_by_text("Atelier help assistant")).to_be_visible(timeout=TIMEOUT_MS)
        await send(page, "How do I refine an image?")
        # ...answers, and bills against the Support budget.
        await expect(page.get_by_text(re.compile(r"This turn \$.* of \$0\.50"))).to_be_visible(
            timeout=TIMEOUT_MS
        )
        await page.screenshot(path=str(output_dir / "copilot-embed.png"))
