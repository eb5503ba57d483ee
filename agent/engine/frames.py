"""Partial images: honest earlier stages of a finished picture, coarse to fine."""

from __future__ import annotations

from PIL import Image, ImageEnhance, ImageFilter


def partial_frames(final: Image.Image, count: int) -> list[Image.Image]:
    """``count`` previews of ``final``, each the same size, from very coarse to nearly done.

    Stage k keeps 1/2^(count-k+2) of the resolution (a blurred low-res version) and less
    colour, so every frame is really the final picture seen earlier, never a different one.
    """
    if count <= 0:
        return []
    w, h = final.size
    frames = []
    for k in range(count):
        progress = (k + 1) / (count + 1)
        factor = 2 ** (count - k + 2)
        small = final.resize((max(1, w // factor), max(1, h // factor)), Image.Resampling.BOX)
        frame = small.resize((w, h), Image.Resampling.BICUBIC)
        frame = frame.filter(ImageFilter.GaussianBlur(max(0.0, factor / 8)))
        colour_mode = frame.mode if frame.mode in ("RGB", "RGBA") else "RGB"
        frame = frame.convert(colour_mode)
        rgb = frame.convert("RGB")
        rgb = ImageEnhance.Color(rgb).enhance(0.4 + 0.6 * progress)
        if colour_mode == "RGBA":
            rgb.putalpha(frame.getchannel("A"))
        frames.append(rgb)
    return frames
