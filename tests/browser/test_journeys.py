"""One journey per profile, as a person makes it in Chromium, asserting on what they see.

Every journey fails on any page error, console error, failed response or request to a host
other than the app's (``watch``). Screenshots go to test-output/journey-*.png.

The phrasings are ones the embedded engine understands today (quoted titles, "make it
warmer"); richer everyday language is the engine's own work and its own tests.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Locator, Page, expect

pytestmark = pytest.mark.browser

ENGINE_ENV = {"ATELIER_ENGINE_FAULT": "latency=200,400"}
TIMEOUT_MS = 60_000
IMAGES = 'img[alt$=".png"]'
ONE_FRESH_BILL = """() => {
  const messages = [...document.querySelectorAll('[data-step-type="assistant_message"]')];
  const bills = messages.filter(m => m.innerText.includes("Session bill ·"));
  const welcome = messages.findIndex(m => m.innerText.includes("Welcome back."));
  return welcome >= 0 && bills.length === 1 && messages.indexOf(bills[0]) > welcome;
}"""


async def send(page: Page, text: str) -> None:
    """Type a message and send it once the composer accepts it (not while a task runs)."""
    await page.locator("#chat-input").fill(text)
    submit = page.locator("#chat-submit")
    await expect(submit).to_be_enabled(timeout=TIMEOUT_MS)
    await submit.click()
    await expect(page.locator("#chat-input")).to_have_value("", timeout=TIMEOUT_MS)


async def short_ids(images: Locator) -> list[str]:
    """The short ids of the images shown, from their names (``[n · ]a41c09ff.png``)."""
    names = [await image.get_attribute("alt") or "" for image in await images.all()]
    return [name.rsplit(" · ", 1)[-1].split(".")[0] for name in names]


async def loaded_width(image: Locator) -> int:
    """The image's natural width once its bytes have arrived (0 = broken)."""
    width = await image.evaluate(
        "img => img.complete ? img.naturalWidth"
        " : new Promise(done => { img.onload = () => done(img.naturalWidth);"
        " img.onerror = () => done(0); })"
    )
    return int(width)


async def test_studio_draw_refine_reload_refine(
    harness: ModuleType, browser: BrowserContext, tmp_path: Path, output_dir: Path, watch: Any
) -> None:
    async with harness.run_server(tmp_path / "data", ENGINE_ENV) as server:
        page = await browser.new_page()
        seen = watch(page, server.url)
        await page.goto(server.url)
        await expect(page.locator("#chat-settings-open-modal")).to_be_visible(timeout=TIMEOUT_MS)
        bill_lines = page.get_by_text("This turn $")
        images = page.locator(IMAGES)

        # Draw.
        await send(page, "A poster of a lighthouse at dusk titled 'HARBOR'")
        await expect(bill_lines).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(images).to_have_count(1, timeout=TIMEOUT_MS)
        assert await loaded_width(images.first) == 1024
        (first,) = await short_ids(images)
        await page.screenshot(path=str(output_dir / "journey-studio-1-drawn.png"))
        seen.assert_clean("after the first image")

        # A refused setting, changed from higher up the chat: the refusal lands in view.
        await page.mouse.move(600, 300)
        await page.mouse.wheel(0, -5000)
        await page.locator("#chat-settings-open-modal").click()
        await page.locator("#custom_size").fill("1000x1000")
        await page.get_by_role("button", name="Confirm").click()
        await expect(page.get_by_text("Settings not changed.")).to_be_in_viewport(
            timeout=TIMEOUT_MS
        )
        await page.screenshot(path=str(output_dir / "journey-studio-1b-refused-setting.png"))

        # Refine by words: the latest image is edited in context.
        await send(page, "make it warmer")
        await expect(bill_lines).to_have_count(2, timeout=TIMEOUT_MS)
        await expect(images).to_have_count(2, timeout=TIMEOUT_MS)
        second = (await short_ids(images))[1]
        await expect(page.get_by_text(f"from {first}")).to_have_count(1, timeout=TIMEOUT_MS)

        # Refine by button: the first image, picked with its own button.
        await page.get_by_role("button", name="Refine this").first.click()
        notice = page.get_by_text(f"Refining image {first}")
        await expect(notice).to_be_in_viewport(timeout=TIMEOUT_MS)
        await send(page, "make it brighter")
        await expect(bill_lines).to_have_count(3, timeout=TIMEOUT_MS)
        await expect(images).to_have_count(3, timeout=TIMEOUT_MS)
        await expect(page.get_by_text(f"from {first}")).to_have_count(2, timeout=TIMEOUT_MS)
        await page.screenshot(path=str(output_dir / "journey-studio-2-refined.png"))

        # The bill: one panel and one message, however often it is opened.
        for _ in range(2):
            await page.get_by_role("button", name="Bill").last.click()
            await expect(page.get_by_alt_text("Cumulative cost")).to_be_in_viewport(
                ratio=1, timeout=TIMEOUT_MS
            )
        await expect(page.get_by_text("Session bill ·")).to_have_count(1, timeout=TIMEOUT_MS)
        await page.screenshot(path=str(output_dir / "journey-studio-3-bill.png"))
        seen.assert_clean("after refining and the bill")

        # Reload: every image is back, each with its buttons.
        await page.reload()
        await expect(page.get_by_text("Welcome back. This chat has 3 image(s)")).to_be_visible(
            timeout=TIMEOUT_MS
        )
        await expect(images).to_have_count(3, timeout=TIMEOUT_MS)
        await expect(page.get_by_role("button", name="Refine this")).to_have_count(
            3, timeout=TIMEOUT_MS
        )
        await expect(page.get_by_role("button", name="Lineage")).to_have_count(
            3, timeout=TIMEOUT_MS
        )
        await page.get_by_text("Welcome back.").scroll_into_view_if_needed()
        await page.screenshot(path=str(output_dir / "journey-studio-4-resumed.png"))
        # Still one bill message after the reload, however often it is opened.
        await page.get_by_role("button", name="Bill").last.click()
        await expect(page.get_by_alt_text("Cumulative cost")).to_be_in_viewport(
            ratio=1, timeout=TIMEOUT_MS
        )
        # (the fresh one, below the welcome: the one from before the reload was replaced)
        await page.wait_for_function(ONE_FRESH_BILL, timeout=TIMEOUT_MS)

        # Refine again after the reload, by the short id the caption shows.
        await send(page, f"/refine {second} make it cooler")
        await expect(bill_lines).to_have_count(4, timeout=TIMEOUT_MS)
        await expect(images).to_have_count(4, timeout=TIMEOUT_MS)
        await expect(page.get_by_text(f"from {second}")).to_have_count(1, timeout=TIMEOUT_MS)
        latest = page.get_by_text(re.compile(r"This turn \$")).last
        await expect(latest).to_be_in_viewport(timeout=TIMEOUT_MS)
        await page.screenshot(path=str(output_dir / "journey-studio-5-refined-after-reload.png"))
        seen.assert_clean("at the end of the studio journey")


async def pick_profile(page: Page, name: str) -> None:
    """Choose a chat profile in the header's picker (confirming a new chat if asked)."""
    await page.locator("#chat-profiles").click()
    await page.locator(f'[data-test="select-item:{name}"]').click()
    await expect(page.locator("#chat-profiles")).to_contain_text(name, timeout=TIMEOUT_MS)


async def test_brainstorm_gallery_pick_and_refine(
    harness: ModuleType, browser: BrowserContext, tmp_path: Path, output_dir: Path, watch: Any
) -> None:
    async with harness.run_server(tmp_path / "data", ENGINE_ENV) as server:
        page = await browser.new_page()
        seen = watch(page, server.url)
        await page.goto(server.url)
        await expect(page.locator("#chat-settings-open-modal")).to_be_visible(timeout=TIMEOUT_MS)
        await pick_profile(page, "Brainstorm")

        await send(page, "Three directions for a coffee shop logo called 'Ember'")
        bill_lines = page.get_by_text("This turn $")
        await expect(bill_lines).to_have_count(1, timeout=TIMEOUT_MS)
        gallery = page.locator(IMAGES)
        await expect(gallery).to_have_count(3, timeout=TIMEOUT_MS)
        names = [await image.get_attribute("alt") or "" for image in await gallery.all()]
        assert [name.split(" · ")[0] for name in names] == ["1", "2", "3"], names
        # Side by side: one row, left to right, none hidden behind another.
        boxes = [await image.bounding_box() for image in await gallery.all()]
        assert all(box is not None and box["width"] > 100 for box in boxes), boxes
        tops = [box["y"] for box in boxes if box]
        lefts = [box["x"] for box in boxes if box]
        assert max(tops) - min(tops) < 2, boxes
        assert lefts == sorted(lefts) and lefts[1] - lefts[0] >= boxes[0]["width"], boxes  # type: ignore[index]
        for number in (1, 2, 3):
            await expect(page.get_by_role("button", name=f"Refine {number}")).to_be_visible()
        # One message holds the gallery: a numbered line per variant, low-cost sketches as
        # the profile promises.
        message = page.locator('[data-step-type="assistant_message"]').filter(has=gallery.first)
        await expect(message).to_have_count(1)
        caption = await message.inner_text()
        assert caption.count("1024x1024 · low") == 3, caption
        assert all(f"{number} ·" in caption for number in (1, 2, 3)), caption
        await page.screenshot(path=str(output_dir / "journey-brainstorm-1-gallery.png"))
        seen.assert_clean("after the gallery")

        # Pick the second direction and refine it.
        picked = (await short_ids(gallery))[1]
        await page.get_by_role("button", name="Refine 2").click()
        await expect(page.get_by_text(f"Refining image {picked}")).to_be_in_viewport(
            timeout=TIMEOUT_MS
        )
        await send(page, "make it warmer")
        await expect(bill_lines).to_have_count(2, timeout=TIMEOUT_MS)
        await expect(page.get_by_text(f"from {picked}")).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(page.locator(IMAGES)).to_have_count(4, timeout=TIMEOUT_MS)
        # The refined pick is shown on its own, full size, with its own buttons.
        refined = page.locator(IMAGES).last
        assert not (await refined.get_attribute("alt") or "").startswith("1 · ")
        await expect(page.get_by_role("button", name="Refine this")).to_have_count(1)
        await page.screenshot(path=str(output_dir / "journey-brainstorm-2-picked.png"))

        # Variations of the pick: another gallery, numbered, on one row.
        await page.get_by_role("button", name="Variations", exact=True).click()
        await expect(bill_lines).to_have_count(3, timeout=TIMEOUT_MS)
        variants = page.locator(IMAGES)
        await expect(variants).to_have_count(7, timeout=TIMEOUT_MS)
        last_three = (await variants.all())[4:]
        await last_three[-1].scroll_into_view_if_needed()
        tops = [(await image.bounding_box() or {"y": -1.0})["y"] for image in last_three]
        assert max(tops) - min(tops) < 2, tops
        names = [await image.get_attribute("alt") or "" for image in last_three]
        assert [name.split(" · ")[0] for name in names] == ["1", "2", "3"], names
        await page.screenshot(path=str(output_dir / "journey-brainstorm-3-variations.png"))
        seen.assert_clean("at the end of the brainstorm journey")


async def test_support_widget_whole_conversation(
    harness: ModuleType, browser: BrowserContext, tmp_path: Path, output_dir: Path, watch: Any
) -> None:
    async with harness.run_server(tmp_path / "data", ENGINE_ENV) as server:
        page = await browser.new_page()
        seen = watch(page, server.url)
        await page.goto(f"{server.url}/public/embed.html")
        await page.locator("#chainlit-copilot-button").click()
        await expect(page.get_by_text("Atelier help assistant")).to_be_visible(timeout=TIMEOUT_MS)
        bill_lines = page.get_by_text(re.compile(r"This turn \$.* of \$0\.50"))

        # A text answer.
        await send(page, "How do I refine an image?")
        await expect(bill_lines).to_have_count(1, timeout=TIMEOUT_MS)
        await page.screenshot(path=str(output_dir / "journey-support-1-text.png"))
        seen.assert_clean("after the text answer")

        # An image answer.
        await send(page, "Show me an example image of a lighthouse poster")
        await expect(bill_lines).to_have_count(2, timeout=TIMEOUT_MS)
        widget_images = page.locator(IMAGES)
        await expect(widget_images).to_have_count(1, timeout=TIMEOUT_MS)
        assert await loaded_width(widget_images.first) == 1024
        await page.screenshot(path=str(output_dir / "journey-support-2-image.png"))
        seen.assert_clean("after the image answer")

        # A third question: the widget is still there, with the whole conversation.
        await send(page, "How is the cost of an image counted?")
        await expect(bill_lines).to_have_count(3, timeout=TIMEOUT_MS)
        # The first question is still in the conversation (the user message, not the greeting).
        await expect(page.locator("pre", has_text="How do I refine an image?")).to_have_count(1)
        await expect(page.get_by_text("Minified React error")).to_have_count(0)
        await page.screenshot(path=str(output_dir / "journey-support-3-third.png"))
        # The widget's settings were loaded once, before the first answer, and never reset.
        settings = [url for url in seen.requests if "/project/settings" in url]
        assert len(settings) == 1, settings
        assert "chat_profile=" not in settings[0]
        await expect(page.locator("#chat-profiles")).to_have_count(0)
        seen.assert_clean("at the end of the support journey")
