"""The engine's Pillow renderer: the one API the engine calls to make and change pictures.

Everything here is deterministic, offline and synchronous; call it from a worker thread.
"""

from __future__ import annotations

from PIL import Image

from agent.engine.codec import decode_image, encode_image
from agent.engine.edit_ops import EditOp, parse_edit_ops
from agent.engine.edits import apply_edits, edited_size
from agent.engine.frames import partial_frames
from agent.engine.scene import compose

__all__ = [
    "EditOp",
    "apply_edits",
    "decode_image",
    "edited_size",
    "encode_image",
    "parse_edit_ops",
    "partial_frames",
    "render_scene",
]


def render_scene(prompt: str, width: int, height: int, *, transparent: bool = False) -> Image.Image:
    """A picture of ``prompt``, exactly ``width`` x ``height``; RGBA with a clear background
    around the subject when ``transparent``, RGB otherwise."""
    return compose(prompt, width, height, transparent=transparent)
