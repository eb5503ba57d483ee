"""A request's context, resolved before anything is sent: referenced and chained images,
uploads and the mask, decoded off the event loop. Bad references raise ApiError (400) with
the API's messages.
"""

from __future__ import annotations

import asyncio
import binascii
from dataclasses import dataclass
from typing import Any

from PIL import Image

from agent.engine import render
from agent.engine.request import ApiError, CreateRequest, bad_request
from agent.engine.state import ResponseStore
from agent.images import b64

JsonDict = dict[str, Any]

_NOT_PERSISTED = (
    "Item with id '{id}' not found. Items are not persisted when `store` is set to false. "
    "Try again with `store` set to true, or remove this item from your input."
)
_MISSING_REASONING = (
    "Item '{ig}' of type 'image_generation_call' was provided without its required "
    "'reasoning' item: '{rs}'."
)
_NOT_REFERENCES = ("message", "function_call", "function_call_output")


@dataclass
class SourceImage:
    """The image in context: what edits start from."""

    image: Image.Image
    prompt: str | None


def current_message(items: list[JsonDict]) -> tuple[str, list[str]]:
    """The text and image data URLs of the last user message."""
    for item in reversed(items):
        if item["type"] == "message" and item["role"] == "user":
            texts = [p["text"] for p in item["content"] if p["type"] == "input_text"]
            urls = [p["image_url"] for p in item["content"] if p["type"] == "input_image"]
            return " ".join(texts).strip(), urls
    return "", []


async def explicit_image(
    store: ResponseStore, request: CreateRequest, chain_ids: list[str]
) -> SourceImage | None:
    """Check every referenced item; return the last referenced image, decoded."""
    replayed = {i["id"] for i in request.input if i["type"] == "reasoning"}
    source: SourceImage | None = None
    for item in request.input:
        kind, item_id = item["type"], item.get("id")
        if kind in _NOT_REFERENCES or not isinstance(item_id, str):
            continue
        if kind == "image_generation_call" and "result" in item:
            image = await decode_b64(item["result"], "input")
            source = SourceImage(image, item.get("revised_prompt"))
            continue
        if kind == "reasoning" and "encrypted_content" in item:
            continue
        stored = await store.item(item_id)
        if stored is None:
            raise bad_request(_NOT_PERSISTED.format(id=item_id), "input")
        if stored.type != "image_generation_call":
            continue
        if (
            stored.reasoning_id
            and stored.reasoning_id not in replayed
            and stored.response_id not in chain_ids
        ):
            raise bad_request(
                _MISSING_REASONING.format(ig=item_id, rs=stored.reasoning_id), "input"
            )
        result = await store.result(item_id)
        if result is None:
            raise bad_request(
                f"Item '{item_id}' has no image: that image generation call failed. "
                "Remove it from your input.",
                "input",
            )
        source = SourceImage(await decode_b64(result, "input"), stored.prompt)
    return source


async def chain_image(store: ResponseStore, chain_ids: list[str]) -> SourceImage | None:
    """The latest image in the chain: generated, else uploaded; newest response first."""
    for response_id in chain_ids:
        stored = await store.latest_image([response_id])
        if stored is not None:
            result = await store.result(stored.id)
            if result is not None:
                return SourceImage(await decode_b64(result, "previous_response_id"), stored.prompt)
        _, urls = current_message(await store.inputs(response_id))
        if urls:
            return SourceImage(await decode_url(urls[-1], "previous_response_id"), None)
    return None


async def mask_image(request: CreateRequest) -> Image.Image | None:
    """The tool's ``input_image_mask``, decoded (None when there is none)."""
    mask = (request.tool or {}).get("input_image_mask")
    if not mask:
        return None
    url = mask.get("image_url")
    if not isinstance(url, str):
        raise bad_request(
            "The embedded engine has no Files API: send the mask as a PNG data URL in "
            "input_image_mask.image_url.",
            "tools[0].input_image_mask.file_id",
            "invalid_value",
        )
    if not url.startswith("data:image/") or ";base64," not in url:
        raise bad_request(
            "input_image_mask.image_url must be a base64 PNG data URL (data:image/png;base64,...).",
            "tools[0].input_image_mask.image_url",
            "invalid_image_url",
        )
    return await decode_url(url, "tools[0].input_image_mask.image_url")


async def decode_b64(data: str, param: str) -> Image.Image:
    """Decode base64 image data off the loop; ApiError (400) naming ``param`` if invalid."""

    def decode() -> Image.Image:
        try:
            raw = b64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("not valid base64") from exc
        return render.decode_image(raw)

    try:
        return await asyncio.to_thread(decode)
    except ValueError as exc:
        raise ApiError(
            400,
            f"Invalid image data ({exc}): send a PNG, JPEG or WEBP image, base64-encoded.",
            param=param,
            code="invalid_image",
        ) from exc


async def decode_url(url: str, param: str) -> Image.Image:
    """Decode a ``data:image/...;base64,`` URL (see ``decode_b64``)."""
    return await decode_b64(url.partition(";base64,")[2], param)
