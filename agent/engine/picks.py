"""Brainstorm picks: which earlier images "go with 3" or "mix 1 and 3" point at.

The variants are the images of the newest response in the chain that made several (else
the newest that made any), in output order; "the last one" is the last of them.
"""

from __future__ import annotations

from agent.engine.state import ResponseStore
from agent.engine.wording import pick_of


async def picked(
    store: ResponseStore, chain_ids: list[str], text: str
) -> list[tuple[int, str, str | None]]:
    """(1-based number, base64 result, revised prompt) of each picked image, in the order
    named; [] when the text picks nothing or a pick is out of range."""
    pick = pick_of(text)
    if pick is None:
        return []
    fallback: list[dict[str, object]] = []
    images: list[dict[str, object]] = []
    for response_id in chain_ids:
        payload = await store.payload(response_id)
        if payload is None:
            continue
        found = [
            item
            for item in payload["output"]
            if item["type"] == "image_generation_call" and item.get("result")
        ]
        if len(found) > 1:
            images = found
            break
        if found and not fallback:
            fallback = found
    images = images or fallback
    chosen: list[tuple[int, str, str | None]] = []
    for number in pick.indices:
        index = len(images) - 1 if number == -1 else number - 1
        if not 0 <= index < len(images):
            return []
        item = images[index]
        prompt = item.get("revised_prompt")
        text_prompt = prompt if isinstance(prompt, str) else None
        chosen.append((index + 1, str(item["result"]), text_prompt))
    return chosen
