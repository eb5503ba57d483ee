"""The engine's Pillow renderer: the one API the engine calls to make and change pictures.

Everything here is deterministic, offline and synchronous; call it from a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image

from agent.engine.codec import decode_image, encode_image, scene_of
from agent.engine.edit_ops import EditOp, parse_edit_ops
from agent.engine.edits import apply_edits, edited_size
from agent.engine.frames import partial_frames
from agent.engine.scene import seed_for
from agent.engine.scene_model import SCENE_KEY, Scene, scene_from_prompt
from agent.engine.stage import draw
from agent.engine.wording import lettering_of

__all__ = [
    "EditOp",
    "apply_edits",
    "decode_image",
    "draw_scene",
    "edited_size",
    "encode_image",
    "parse_edit_ops",
    "partial_frames",
    "render_scene",
    "scene_for_prompt",
    "scene_of",
]


def scene_for_prompt(prompt: str, subject: str = "") -> Scene:
    """The scene a prompt describes, its title and tagline read from its words."""
    found = lettering_of(prompt)
    return scene_from_prompt(found.rest, found.title, found.tagline, seed_for(prompt), subject)


def render_scene(prompt: str, width: int, height: int, *, transparent: bool = False) -> Image.Image:
    """A picture of ``prompt``, exactly ``width`` x ``height``; RGBA with a clear background
    around the subject when ``transparent``, RGB otherwise."""
    return draw(scene_for_prompt(prompt), width, height, transparent=transparent).image


def draw_scene(
    scene: Scene,
    size: tuple[int, int],
    *,
    transparent: bool = False,
    source: Image.Image | None = None,
    mask: Image.Image | None = None,
    references: Sequence[Image.Image] = (),
) -> Image.Image:
    """Draw ``scene`` at ``size``. With a ``mask`` (transparent = edit) over ``source``, only
    the masked area takes the new drawing; ``references`` move the palette towards theirs."""
    image = draw(scene, *size, transparent=transparent).image
    if references:
        image = apply_edits(image, [], references=references)
    if mask is not None and source is not None:
        # Opaque mask pixels keep the old picture; the scene no longer describes the whole
        # image, so the result carries none (later edits work on its pixels).
        old = apply_edits(source, [], size=size).convert(image.mode)
        area = mask.convert("RGBA").getchannel("A").resize(size)
        image = Image.composite(old, image, area)
        image.info.pop(SCENE_KEY, None)
    return image
