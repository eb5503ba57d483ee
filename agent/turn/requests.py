"""Build the Responses API request for one turn. Pure: no I/O, easy to test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent.session_settings import SessionSettings


@dataclass(frozen=True)
class TargetImage:
    """The earlier image a turn edits.

    With stored responses it is referenced by id (and its reasoning item, which reasoning
    models require next to it); with store=false the saved file goes back inline instead.
    """

    id: str
    reasoning_item_id: str | None = None
    data_url: str | None = None


def build_request(
    *,
    settings: SessionSettings,
    instructions: str,
    text: str,
    previous_response_id: str | None,
    target: TargetImage | None = None,
    image_urls: Sequence[str] = (),
    mask_url: str | None = None,
    force_image: bool = False,
    metadata: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The keyword arguments of ``responses.create`` for one turn (without ``stream``).

    ``image_urls`` are uploaded reference images and ``mask_url`` a mask, as data URLs.
    """
    content: list[dict[str, Any]] = [{"type": "input_text", "text": text}]
    content += [{"type": "input_image", "image_url": url, "detail": "auto"} for url in image_urls]
    items: list[dict[str, Any]] = []
    by_reference = target is not None and settings.store and target.data_url is None
    if target is not None and not by_reference:
        if target.data_url is None:
            raise ValueError("a target image without stored responses needs its data URL")
        content.append({"type": "input_image", "image_url": target.data_url, "detail": "high"})
    items.append({"role": "user", "content": content})
    if target is not None and by_reference:
        if target.reasoning_item_id:
            items.append({"type": "reasoning", "id": target.reasoning_item_id, "summary": []})
        items.append({"type": "image_generation_call", "id": target.id})

    request: dict[str, Any] = {
        "model": settings.mainline_model,
        "instructions": instructions,
        "input": items,
        "tools": [
            settings.image_tool(
                action="edit" if target is not None else None,
                mask_url=mask_url,
            )
        ],
        "tool_choice": {"type": "image_generation"} if force_image or mask_url else "auto",
        "store": settings.store,
    }
    # An explicit image reference replaces the chain (OpenAI's documented pattern): sending
    # both can repeat an item that is already in the chained context.
    if previous_response_id and settings.store and target is None:
        request["previous_response_id"] = previous_response_id
    if metadata:
        request["metadata"] = dict(metadata)
    return request
