"""Between records and rows: how the store spells times, JSON and money in its columns.

Times are UTC ISO-8601 strings with fixed microseconds (they sort as times do), JSON is
compact with sorted keys, money is a decimal string (summed in Python: SQLite's SUM would go
through float). The same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from agent.billing.usage import ResponseUsage
from agent.store.database import Row
from agent.store.records import (
    CostLine,
    ImageRecord,
    LineKind,
    SessionRecord,
    TurnBill,
    TurnRecord,
    TurnStatus,
)

IMAGE_COLUMNS = (
    "id, session_id, response_id, turn, prompt, revised_prompt, action, parent_id, model, "
    "size, quality, output_format, background, path, sha256, width, height, bytes, "
    "latency_ms, created_at, reasoning_item_id"
)
SESSION_COLUMNS = (
    "id, user_id, profile, title, settings_json, last_response_id, created_at, updated_at, "
    "turn_count"
)
TURN_COLUMNS = (
    "session_id, turn, user_text, target_image_id, response_id, status, error_code, "
    "error_message, started_at, latency_ms, settings_json, usage_json"
)


def now() -> datetime:
    return datetime.now(UTC)


def ts(value: datetime) -> str:
    """UTC ISO-8601 with fixed microseconds, so that strings sort as times do."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"Datetime {value!r} has no timezone; pass a timezone-aware datetime.")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def dump_json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def sum_money(rows: Iterable[Row]) -> Decimal:
    return sum((Decimal(row[0]) for row in rows), Decimal(0))


def prefixed(table: str, columns: str) -> str:
    return ", ".join(f"{table}.{name.strip()}" for name in columns.split(","))


def session_record(row: Row) -> SessionRecord:
    return SessionRecord(
        id=row["id"],
        user_id=row["user_id"],
        profile=row["profile"],
        title=row["title"],
        settings=json.loads(row["settings_json"]),
        last_response_id=row["last_response_id"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        turn_count=row["turn_count"],
    )


def cost_line(row: Row) -> CostLine:
    return CostLine(
        kind=cast(LineKind, row["kind"]),
        model=row["model"],
        tokens=row["tokens"],
        rate_per_mtok_usd=decimal(row["rate_per_mtok_usd"]),
        cost_usd=decimal(row["cost_usd"]),
        owner=row["owner"],
        estimated=bool(row["estimated"]),
    )


def turn_record(row: Row, lines: list[CostLine], image_ids: list[str]) -> TurnRecord:
    return TurnRecord(
        session_id=row["session_id"],
        turn=row["turn"],
        user_text=row["user_text"],
        status=cast(TurnStatus, row["status"]),
        started_at=datetime.fromisoformat(row["started_at"]),
        target_image_id=row["target_image_id"],
        response_id=row["response_id"],
        latency_ms=row["latency_ms"],
        settings=json.loads(row["settings_json"]),
        usage=ResponseUsage.from_dict(json.loads(row["usage_json"])),
        bill=TurnBill(tuple(lines)),
        error_code=row["error_code"],
        error_message=row["error_message"],
        image_ids=tuple(image_ids),
    )


def image_params(image: ImageRecord) -> tuple[Any, ...]:
    return (
        image.id,
        image.session_id,
        image.response_id,
        image.turn,
        image.prompt,
        image.revised_prompt,
        image.action,
        image.parent_id,
        image.model,
        image.size,
        image.quality,
        image.output_format,
        image.background,
        str(image.path),
        image.sha256,
        image.width,
        image.height,
        image.bytes,
        image.latency_ms,
        ts(image.created_at),
        image.reasoning_item_id,
    )


def image_record(row: Row) -> ImageRecord:
    return ImageRecord(
        id=row["id"],
        session_id=row["session_id"],
        response_id=row["response_id"],
        turn=row["turn"],
        prompt=row["prompt"],
        revised_prompt=row["revised_prompt"],
        action=row["action"],
        parent_id=row["parent_id"],
        model=row["model"],
        size=row["size"],
        quality=row["quality"],
        output_format=row["output_format"],
        background=row["background"],
        path=Path(row["path"]),
        sha256=row["sha256"],
        width=row["width"],
        height=row["height"],
        bytes=row["bytes"],
        latency_ms=row["latency_ms"],
        created_at=datetime.fromisoformat(row["created_at"]),
        reasoning_item_id=row["reasoning_item_id"],
    )
