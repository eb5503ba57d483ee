"""Export a session: every image file plus a manifest of its images and turns, as a zip."""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path
from typing import Any

from agent.billing.format import decimal_str
from agent.images.spec import SpecError, image_output_tokens
from agent.ops.files import atomic_path
from agent.store.db import Store
from agent.store.records import ImageRecord, SessionRecord, TurnRecord


def _image_entry(image: ImageRecord, arcname: str) -> dict[str, Any]:
    try:
        tokens: int | None = image_output_tokens(
            image.model, image.width, image.height, image.quality
        )
    except SpecError:
        tokens = None
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
        "output_image_tokens": tokens,
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
    manifest = {
        "session_id": session.id,
        "title": session.title,
        "profile": session.profile,
        "images": [_image_entry(image, arc) for image, (_, arc) in zip(images, files, strict=True)],
        "turns": [_turn_entry(turn) for turn in turns],
        "missing_files": missing,
    }
    present = [(path, arc) for path, arc in files if path.is_file()]
    await asyncio.to_thread(_write_zip, dest, manifest, present)
    return dest
