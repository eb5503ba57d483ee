"""Export a session: every image file plus a manifest of its images and turns, as a zip."""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path
from typing import Any

from agent.billing.format import decimal_str
from agent.images.spec import PARTIAL_IMAGE_TOKENS, SpecError, image_output_tokens
from agent.ops.files import atomic_path
from agent.store.db import Store
from agent.store.records import ImageRecord, SessionRecord, TurnRecord


def _final_tokens(image: ImageRecord) -> int | None:
    """The image model's output tokens for the final image alone (None: no formula)."""
    try:
        return image_output_tokens(image.model, image.width, image.height, image.quality)
    except SpecError:
        return None


def billed_image_output(turn: TurnRecord) -> int:
    """The image output tokens the turn's bill charges (final images and partials)."""
    return sum(line.tokens for line in turn.bill.lines if line.kind == "image_output")


def partial_tokens(turn: TurnRecord, images: list[ImageRecord]) -> dict[str, int]:
    """Each image's share of the partial-image tokens the bill charged in its turn.

    The bill charges reported usage: what it charged beyond the final images' own tokens is
    partial images (100 tokens each). It is split evenly over the turn's images when it
    divides into whole partials per image; otherwise it stays on the turn only (an image gets
    0) rather than being guessed.
    """
    finals = [_final_tokens(image) for image in images]
    if not images or any(tokens is None for tokens in finals):
        return {}
    extra = billed_image_output(turn) - sum(tokens or 0 for tokens in finals)
    per_image, rest = divmod(extra, len(images))
    if extra <= 0 or rest or per_image % PARTIAL_IMAGE_TOKENS:
        return {}
    return {image.id: per_image for image in images}


def _image_entry(image: ImageRecord, arcname: str, partials: int) -> dict[str, Any]:
    final = _final_tokens(image)
    tokens = final + partials if final is not None else None
    return {
        "id": image.id,
        "turn": image.turn,
        "parent_id": image.parent_id,
        "action": image.action,
        "prompt": image.prompt,
        "revised_prompt": image.revised_prompt,
        "image_model": image.model,
        "size": image.size,
        "quality": image.quality,
        "format": image.output_format,
        "background": image.background,
        "output_file": arcname,
        "sha256": image.sha256,
        "output_image_tokens": tokens,  # as billed: the final image plus its partials
        "final_image_tokens": final,
        "partial_image_tokens": partials,
        "latency_ms": image.latency_ms,
        "created_at": image.created_at.isoformat(),
    }


def _turn_entry(turn: TurnRecord) -> dict[str, Any]:
    settings = turn.settings
    return {
        "turn": turn.turn,
        "status": turn.status,
        "prompt": turn.user_text,
        "model": settings.get("mainline_model"),
        "image_model": settings.get("image_model"),
        "size": settings.get("size"),
        "quality": settings.get("quality"),
        "format": settings.get("output_format"),
        "input_image_count": settings.get("input_images", 0),
        "target_image_id": turn.target_image_id,
        "images": list(turn.image_ids),
        "tokens": turn.usage.to_dict(),
        "billed_image_output_tokens": billed_image_output(turn),
        "cost_usd": decimal_str(turn.bill.total_usd),
        "known_cost_usd": decimal_str(turn.bill.known_usd),
        "estimated": turn.bill.estimated,
        "latency_ms": turn.latency_ms,
        "failed": (
            {"code": turn.error_code, "message": turn.error_message} if turn.error_code else None
        ),
        "failed_images": settings.get("failed_images", []),
    }


def _write_zip(dest: Path, manifest: dict[str, Any], files: list[tuple[Path, str]]) -> None:
    with (
        atomic_path(dest) as tmp,
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive,
    ):
        for path, arcname in files:
            archive.write(path, arcname)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))


async def export_session(store: Store, session: SessionRecord, dest: Path) -> Path:
    """Write ``dest`` (a zip) with every image of ``session`` and a manifest.json."""
    turns = await store.turns(session.id)
    images = await store.session_images(session.id)
    files = [
        (image.path, f"images/{image.turn:03d}-{image.id}{image.path.suffix}") for image in images
    ]
    missing = [str(path) for path, _ in files if not path.is_file()]
    partials: dict[str, int] = {}
    for turn in turns:
        partials.update(partial_tokens(turn, [i for i in images if i.turn == turn.turn]))
    manifest = {
        "session_id": session.id,
        "title": session.title,
        "profile": session.profile,
        "images": [
            _image_entry(image, arc, partials.get(image.id, 0))
            for image, (_, arc) in zip(images, files, strict=True)
        ],
        "turns": [_turn_entry(turn) for turn in turns],
        "missing_files": missing,
    }
    present = [(path, arc) for path, arc in files if path.is_file()]
    await asyncio.to_thread(_write_zip, dest, manifest, present)
    return dest
