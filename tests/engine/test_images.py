"""Image options end to end: masks, variants, formats and compression, a 4K image."""

from __future__ import annotations

import base64
import io

import pytest
from openai import AsyncOpenAI
from PIL import Image, ImageChops

from tests.engine.helpers import decode, image_items, tool


def _data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


async def test_mask_edit_changes_only_the_masked_area(client: AsyncOpenAI) -> None:
    made = (
        await client.responses.create(model="gpt-4.1", input="draw a green forest", tools=[tool()])
    ).model_dump()
    (src,) = image_items(made)
    mask = Image.new("RGBA", (1024, 1024), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 512, 1024))  # left half transparent = editable
    edited = await client.responses.create(
        model="gpt-4.1",
        input="make it black and white",
        previous_response_id=made["id"],
        tools=[tool(input_image_mask={"image_url": _data_url(mask)})],
    )
    (out,) = image_items(edited.model_dump())
    assert out["action"] == "edit"
    before = decode(src["result"]).convert("RGB")
    after = decode(out["result"]).convert("RGB")
    kept = ImageChops.difference(
        before.crop((512, 0, 1024, 1024)), after.crop((512, 0, 1024, 1024))
    )
    changed = ImageChops.difference(before.crop((0, 0, 512, 1024)), after.crop((0, 0, 512, 1024)))
    assert kept.getbbox() is None  # identical outside the mask
    assert changed.getbbox() is not None


async def test_variants_are_distinct_calls(client: AsyncOpenAI) -> None:
    response = await client.responses.create(
        model="gpt-4.1", input="give me 3 options for a coffee shop logo", tools=[tool()]
    )
    images = image_items(response.model_dump())
    assert len(images) == 3
    assert len({i["result"] for i in images}) == 3
    assert len({i["revised_prompt"] for i in images}) == 3
    assert "3 distinct directions" in response.output_text
    directed = await client.responses.create(
        model="gpt-4.1",
        instructions="For a new visual request, propose 2 distinct directions.",
        input="draw a cozy cabin",
        tools=[tool()],
    )
    assert len(image_items(directed.model_dump())) == 2


@pytest.mark.parametrize(
    ("fmt", "compression", "pil_format", "mode"),
    [("png", None, "PNG", "RGBA"), ("jpeg", 80, "JPEG", "RGB"), ("webp", 50, "WEBP", "RGBA")],
)
async def test_output_formats(
    client: AsyncOpenAI, fmt: str, compression: int | None, pil_format: str, mode: str
) -> None:
    options: dict[str, object] = {"output_format": fmt, "size": "1536x1024"}
    if compression is not None:
        options["output_compression"] = compression
    if fmt != "jpeg":
        options["background"] = "transparent"
    response = await client.responses.create(
        model="gpt-4.1", input="draw a rocket sticker", tools=[tool(**options)]
    )
    (image,) = image_items(response.model_dump())
    picture = decode(image["result"])
    assert picture.format == pil_format and picture.size == (1536, 1024)
    assert image["output_format"] == fmt
    if mode == "RGBA":
        assert picture.mode == "RGBA"
        assert picture.getchannel("A").getextrema() != (255, 255)  # some transparency


async def test_jpeg_compression_shrinks_the_file(client: AsyncOpenAI) -> None:
    sizes = []
    for compression in (10, 90):
        response = await client.responses.create(
            model="gpt-4.1",
            input="draw a sunset over the sea",
            tools=[tool(output_format="jpeg", output_compression=compression)],
        )
        sizes.append(len(base64.b64decode(image_items(response.model_dump())[0]["result"])))
    assert sizes[1] < sizes[0]


async def test_3840x2160_image(client: AsyncOpenAI) -> None:
    response = await client.responses.create(
        model="gpt-4.1", input="draw a city skyline banner", tools=[tool(size="3840x2160")]
    )
    (image,) = image_items(response.model_dump())
    assert image["size"] == "3840x2160"
    assert decode(image["result"]).size == (3840, 2160)
    assert response.tool_usage is not None
    assert response.tool_usage.image_gen.output_tokens > 196
