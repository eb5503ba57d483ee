"""What the painter sends is checked before any turn: the image, the words, the mask."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agent.errors import NotFound, UploadRejected
from agent.store.records import ImageRecord
from ui.select_area import PAINTER, decode_mask_url, painter_props, read_edit


def _png(size: tuple[int, int], alpha: int = 255, hole: bool = True) -> str:
    mask = Image.new("RGBA", size, (0, 0, 0, alpha))
    if hole:
        mask.paste((0, 0, 0, 0), (10, 10, 30, 30))
    out = io.BytesIO()
    mask.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


class _Chat:
    """Just the part of a session read_edit asks: is this image one of the chat's?"""

    def __init__(self, image: ImageRecord) -> None:
        self._image = image

    async def image(self, image_id: str) -> ImageRecord:
        if image_id != self._image.id:
            raise NotFound(f"Image {image_id} is not part of this conversation.")
        return self._image


def _record(width: int = 64, height: int = 48) -> ImageRecord:
    from datetime import UTC, datetime

    return ImageRecord(
        id="ig_abc12345",
        session_id="s",
        response_id="r",
        turn=1,
        prompt="p",
        revised_prompt=None,
        action="generate",
        parent_id=None,
        model="gpt-image-2",
        size=f"{width}x{height}",
        quality="medium",
        output_format="png",
        background="opaque",
        path=Path("/tmp/x.png"),
        sha256="0" * 64,
        width=width,
        height=height,
        bytes=1,
        latency_ms=1,
        created_at=datetime.now(UTC),
    )


async def _edit(payload: dict[str, Any]) -> Any:
    return await read_edit(_Chat(_record()), payload)  # type: ignore[arg-type]


async def test_a_painted_mask_at_the_images_size_is_accepted() -> None:
    edit = await _edit(
        {"image_id": "ig_abc12345", "text": " make it pink ", "mask": _png((64, 48))}
    )
    assert edit.text == "make it pink"
    assert (edit.mask.width, edit.mask.height, edit.mask.mime) == (64, 48, "image/png")
    assert edit.image.id == "ig_abc12345"


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"text": "x", "mask": _png((32, 32))}, "the image is 64x48"),
        ({"text": "x", "mask": _png((64, 48), hole=False)}, "no fully transparent"),
        ({"text": "  ", "mask": _png((64, 48))}, "Say what should change"),
        ({"text": "x" * 5000, "mask": _png((64, 48))}, "under 4000 characters"),
        ({"text": "x", "mask": "data:image/jpeg;base64,AAAA"}, "did not arrive as a PNG"),
        ({"text": "x", "mask": "data:image/png;base64,%%%"}, "did not arrive as a PNG"),
        ({"text": "x", "mask": "data:image/png;base64,AAA"}, "arrived damaged"),
        ({"text": "x", "mask": 42}, "did not arrive as a PNG"),
        ({"text": "x", "mask": "data:image/png;base64,iVBORw0KGgo="}, "damaged"),
    ],
)
async def test_bad_requests_are_refused_with_a_reason(payload: dict[str, Any], says: str) -> None:
    with pytest.raises(UploadRejected, match=says):
        await _edit({"image_id": "ig_abc12345", **payload})


async def test_another_chats_image_is_not_found() -> None:
    with pytest.raises(NotFound):
        await _edit({"image_id": "ig_someone_else", "text": "x", "mask": _png((64, 48))})
    with pytest.raises(NotFound):
        await read_edit(None, {"image_id": "ig_abc12345"})


def test_an_oversized_data_url_is_refused_before_decoding() -> None:
    with pytest.raises(UploadRejected):
        decode_mask_url("data:image/png;base64," + "A" * (30 * 1024 * 1024))


def test_the_painter_loads_the_image_from_the_apps_own_route() -> None:
    assert painter_props(_record(1536, 1024)) == {
        "imageId": "ig_abc12345",
        "shortId": "abc12345",
        "url": "/atelier/image/ig_abc12345",
        "width": 1536,
        "height": 1024,
    }
    assert (Path(__file__).resolve().parents[2] / f"public/elements/{PAINTER}.jsx").is_file()
