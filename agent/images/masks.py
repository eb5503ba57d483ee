"""The mask rules: which uploaded file is the mask, and whether it fits the image it edits.

Shared by every front end (the Chainlit app and ``atelier chat``), so a mask means the same
thing wherever it is sent from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.errors import InvalidSettings

MASK_WORD = re.compile(r"\bmask\b", re.IGNORECASE)


def mask_index(names: Sequence[str], text: str, *, has_image: bool) -> int | None:
    """Which of a message's image files is the mask, or None.

    A file named "...mask..." is the mask. Otherwise, when the text says "mask", the last file
    is, provided there is something for it to edit (another file, or an earlier image).
    """
    named = next((i for i, name in enumerate(names) if "mask" in name.lower()), None)
    if named is not None or not names:
        return named
    if MASK_WORD.search(text) and (len(names) > 1 or has_image):
        return len(names) - 1
    return None


def check_mask(mask_size: tuple[int, int], image_size: tuple[int, int] | None) -> None:
    """A mask edits an existing image and must have its size; InvalidSettings says what to do.

    ``image_size`` is the size of the image it edits (the target, else the latest image), or
    None when there is no image yet.
    """
    if image_size is None:
        raise InvalidSettings(
            "A mask edits an existing image: make or pick an image first, then send "
            "the mask with your change."
        )
    if mask_size != image_size:
        raise InvalidSettings(
            f"The mask is {mask_size[0]}x{mask_size[1]} but the image it edits is "
            f"{image_size[0]}x{image_size[1]}: export the mask at the image's size.",
            param="input_image_mask",
        )
