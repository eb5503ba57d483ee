"""A person in Chromium: paint an area and edit only it; branch the lineage tree; compare two.

Every page error and console error fails the test. Images are fetched back through the
app's own guarded image route and compared pixel by pixel with Pillow.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from PIL import Image, ImageChops
from playwright.async_api import BrowserContext, Locator, Page, Request, expect

from agent.config import Settings
from tests.browser.pages import PageWatch, open_chat

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000


@pytest.fixture
async def studio(
    harness: ModuleType, browser: BrowserContext, tmp_path: Path
) -> AsyncIterator[tuple[Page, Path]]:
    """A started chat in Chromium on a fresh server; fails afterwards on any page error."""
    data = tmp_path / "data"
    async with harness.run_server(data) as server:
        page = await browser.new_page()
        errors = PageWatch(page, server.url)
        try:
            await open_chat(page, server.url)
            yield page, data
        except BaseException:
            print(server.log())  # shown by pytest for a failing test
            raise
        errors.assert_clean("the page was not clean")


async def send(page: Page, text: str) -> None:
    """Type a message and send it once the composer accepts it."""
    await page.locator("#chat-input").fill(text)
    submit = page.locator("#chat-submit")
    await expect(submit).to_be_enabled(timeout=TIMEOUT_MS)
    await submit.click()
    await expect(page.locator("#chat-input")).to_have_value("", timeout=TIMEOUT_MS)


def images_in_order(data: Path) -> list[tuple[str, str | None]]:
    """(id, parent id) of every stored image, oldest first. Blocking."""
    path = Settings(_env_file=None, data_dir=data).db_path  # type: ignore[call-arg]
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT id, parent_id FROM images ORDER BY created_at").fetchall()
    return [(str(row[0]), row[1]) for row in rows]


async def loaded_width(image: Locator) -> int:
    """The image's natural width once it has loaded (0 if it failed to load)."""
    width = await image.evaluate(
        "img => img.complete ? img.naturalWidth : new Promise(done => {"
        " img.onload = () => done(img.naturalWidth); img.onerror = () => done(0); })"
    )
    return int(width)


def origin_of(page: Page) -> str:
    """scheme://host:port of the page."""
    origin = re.match(r"https?://[^/]+", page.url)
    assert origin is not None
    return origin.group(0)


async def fetch_image(page: Page, image_id: str) -> Image.Image:
    """The image as the app serves it to this browser (same cookies), decoded."""
    response = await page.request.get(f"{origin_of(page)}/atelier/image/{image_id}")
    assert response.status == 200, await response.text()
    return Image.open(io.BytesIO(await response.body())).convert("RGB")


async def on_screen(
    target: Locator, points: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """``points`` given as fractions of the target's box, in page pixels (scrolled into view)."""
    box = await target.bounding_box()
    assert box is not None
    if box["y"] < 0 or box["y"] + box["height"] > 900:
        await target.scroll_into_view_if_needed()
        box = await target.bounding_box()
        assert box is not None
    return [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]


async def drag(page: Page, target: Locator, points: list[tuple[float, float]]) -> None:
    """A mouse stroke through ``points`` (fractions of the target's box)."""
    xy = await on_screen(target, points)
    await page.mouse.move(*xy[0])
    await page.mouse.down()
    for x, y in xy[1:]:
        await page.mouse.move(x, y, steps=6)
    await page.mouse.up()


async def touch_drag(page: Page, target: Locator, points: list[tuple[float, float]]) -> None:
    """A finger stroke through ``points``, as real touch input (Chromium's DevTools protocol)."""
    xy = await on_screen(target, points)
    cdp = await page.context.new_cdp_session(page)
    kinds = ["touchStart", *["touchMove"] * (len(xy) - 1)]
    for kind, (x, y) in zip(kinds, xy, strict=True):
        await cdp.send(
            "Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]}
        )
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    await cdp.detach()


async def test_select_area_changes_only_the_painted_region(
    studio: tuple[Page, Path], output_dir: Path
) -> None:
    page, data = studio
    await send(page, "A lighthouse poster at dusk")
    await expect(page.get_by_text("This turn $")).to_have_count(1, timeout=TIMEOUT_MS)
    await page.get_by_role("button", name="Select area").first.click()

    canvas = page.get_by_test_id("mask-canvas")
    await expect(canvas).to_be_visible(timeout=TIMEOUT_MS)
    painted = page.get_by_role("img", name=re.compile("to paint on"))
    assert await loaded_width(painted) == 1024
    # A stray stroke by finger, undone; then the real one, by mouse, over the upper left.
    undo = page.get_by_role("button", name="Undo")
    await expect(undo).to_be_disabled()
    await touch_drag(page, canvas, [(0.8, 0.8), (0.85, 0.85), (0.9, 0.9)])
    await expect(undo).to_be_enabled()
    await undo.click()
    await expect(undo).to_be_disabled()
    await page.get_by_label("Brush size").fill("120")
    await drag(page, canvas, [(0.15, 0.15), (0.4, 0.15), (0.4, 0.35), (0.15, 0.35)])
    await page.get_by_label("What should change in the painted area").fill(
        "Make this part much darker"
    )
    await page.get_by_role("button", name="Edit this area").scroll_into_view_if_needed()
    await page.screenshot(path=str(output_dir / "select-area-painter.png"))

    sent: list[Request] = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/project/action") else None)
    await page.get_by_role("button", name="Edit this area").click()
    await expect(page.get_by_test_id("mask-painter-sent")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.get_by_text("This turn $")).to_have_count(2, timeout=TIMEOUT_MS)
    await expect(page.get_by_role("button", name="Select area")).to_have_count(
        2, timeout=TIMEOUT_MS
    )
    await page.get_by_text("Editing the painted area").scroll_into_view_if_needed()
    await page.screenshot(path=str(output_dir / "select-area-sent.png"))

    (first, _), (second, parent) = await asyncio.to_thread(images_in_order, data)
    assert parent == first
    edited = page.locator(f'img[alt="{second[-8:]}.png"]')
    await edited.evaluate("img => img.scrollIntoView({block: 'center'})")
    await page.screenshot(path=str(output_dir / "select-area-result.png"))
    # The image route is the app's own and guarded: no Chainlit session, no image.
    async with httpx.AsyncClient(base_url=origin_of(page)) as stranger:
        assert (await stranger.get(f"/atelier/image/{first}")).status_code == 401
    payload = json.loads(sent[-1].post_data or "{}")["action"]["payload"]
    mask_png = base64.b64decode(payload["mask"].split(",", 1)[1])
    mask = Image.open(io.BytesIO(mask_png))
    before, after = await fetch_image(page, first), await fetch_image(page, second)
    assert mask.mode == "RGBA" and mask.size == before.size == after.size
    keep = mask.getchannel("A").point(lambda a: 255 if a == 255 else 0)
    changed = ImageChops.difference(before, after).convert("L").point(lambda d: 255 if d else 0)
    # Nothing changed where the mask is opaque...
    assert ImageChops.multiply(changed, keep).getbbox() is None
    # ...and the painted area (upper left) did change, nothing near the undone stroke.
    box = changed.getbbox()
    assert box is not None
    width, height = before.size
    assert box[2] <= width * 0.5 and box[3] <= height * 0.5, box

    # Reopened, the thread shows the painter as sent (not a live one that would send again).
    await page.goto(page.url)
    await expect(page.get_by_test_id("mask-painter-sent")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.get_by_test_id("mask-canvas")).to_have_count(0)


async def test_lineage_tree_branches_and_compares(
    studio: tuple[Page, Path], output_dir: Path
) -> None:
    page, data = studio
    bills = page.get_by_text("This turn $")
    await send(page, "A lighthouse poster at dusk")
    await expect(bills).to_have_count(1, timeout=TIMEOUT_MS)
    await page.get_by_role("button", name="Refine this").first.click()
    await expect(page.get_by_text("Refining image")).to_have_count(1, timeout=TIMEOUT_MS)
    await send(page, "Make it warmer")
    await expect(bills).to_have_count(2, timeout=TIMEOUT_MS)

    # Refine the first image again, this time from the tree: a second branch.
    await page.get_by_role("button", name="Lineage").last.click()
    nodes = page.get_by_test_id("lineage-node")
    await expect(nodes).to_have_count(2, timeout=TIMEOUT_MS)
    await nodes.first.get_by_role("button", name="Refine").click()
    await expect(page.get_by_text("Refining image")).to_have_count(2, timeout=TIMEOUT_MS)
    await send(page, "Make it cooler")
    await expect(bills).to_have_count(3, timeout=TIMEOUT_MS)

    first, second, third = await asyncio.to_thread(images_in_order, data)
    assert second[1] == first[0] and third[1] == first[0]

    await page.get_by_role("button", name="Lineage").last.click()
    await expect(nodes).to_have_count(3, timeout=TIMEOUT_MS)
    root = page.locator(f'[data-testid="lineage-node"][data-image-id="{first[0]}"]')
    await expect(root).to_have_attribute("data-depth", "0")
    await expect(root.get_by_text("2 branches")).to_be_visible()
    for child in (second[0], third[0]):
        node = page.locator(f'[data-testid="lineage-node"][data-image-id="{child}"]')
        await expect(node).to_have_attribute("data-depth", "1")
        await expect(node.get_by_test_id("lineage-cost")).to_have_text(re.compile(r"^\$0\.\d{4}$"))
    for index in range(3):  # thumbnails (256 px), through the guarded image route
        assert await loaded_width(nodes.nth(index).locator("img")) == 256
    await page.screenshot(path=str(output_dir / "lineage-tree.png"))

    for child in (second[0], third[0]):
        node = page.locator(f'[data-testid="lineage-node"][data-image-id="{child}"]')
        await node.get_by_role("button", name="Pick to compare").click()
    await page.get_by_role("button", name="Compare 2/2").click()
    two_up = page.get_by_test_id("compare-two-up")
    await expect(two_up).to_be_visible(timeout=TIMEOUT_MS)
    await expect(two_up.locator("img")).to_have_count(2)
    for index in range(2):
        image = two_up.locator("img").nth(index)
        assert await loaded_width(image) == 1024
    await two_up.scroll_into_view_if_needed()
    await page.screenshot(path=str(output_dir / "compare-two-up.png"))

    await page.get_by_role("button", name="Slider").click()
    slider = page.get_by_test_id("compare-slider")
    await expect(slider).to_be_visible()
    await page.get_by_label("Slide between the two images").fill("30")
    await slider.scroll_into_view_if_needed()
    await page.screenshot(path=str(output_dir / "compare-slider.png"))
