"""A turn's writes: begun (number and budget hold in one locked transaction), then recorded.

``begin_turn`` takes the session's next number, lets the caller check the budgets against
the recorded spend plus every live hold, and holds the turn's worst-case estimate: all inside
the ledger's lock (``BEGIN IMMEDIATE`` on SQLite, a row lock on PostgreSQL), so concurrent
turns of one session are numbered apart and ten racing turns cannot all fit one budget.
``finish_turn`` writes the turn, its bill, its images and its request/response log in one
transaction and settles the hold; it never replaces a recorded turn.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from agent.errors import AtelierError, NotFound
from agent.store.database import Database, IntegrityError, Tx
from agent.store.ledger import PreCheck, held_and_spent, lock_ledger
from agent.store.records import Admission, CostLine, ImageRecord, Spend, TurnRecord
from agent.store.rows import IMAGE_COLUMNS, TURN_COLUMNS, dump_json, image_params, money, now, ts
from agent.store.scrub import dump_exchange

_NEXT_TURN = (
    "SELECT COALESCE(MAX(n), 0) + 1 FROM (SELECT MAX(turn) AS n FROM turns WHERE session_id = ? "
    "UNION ALL SELECT MAX(turn) AS n FROM reservations WHERE session_id = ?) AS taken"
)


class ImageConflict(ValueError):
    """An image id is already recorded by another turn; the whole turn was not recorded."""


class TurnWrites:
    """The turn half of the Store (mixed into ``agent.store.db.Store``)."""

    database: Database

    async def next_turn_number(self, session_id: str) -> int:
        """The number the session's next turn would get (1 for a new session)."""
        row = await self.database.fetchrow(_NEXT_TURN, (session_id, session_id))
        return int(row[0]) if row is not None else 1

    async def begin_turn(
        self,
        session_id: str,
        user_id: str,
        *,
        day: datetime,
        estimate: Decimal | None,
        expires_at: datetime,
        admit: Callable[[Spend], object],
        precheck: PreCheck | None = None,
    ) -> Admission:
        """Begin a turn in one transaction: take its number, check budgets, hold its estimate.

        ``admit`` sees the spend so far (recorded turns plus live holds; the user and app
        figures since ``day``) and raises AtelierError to refuse. A refused turn keeps its
        number with nothing held, and the refusal comes back in the Admission. ``precheck``
        (a visitor's rate limits) runs after ``admit`` in the same transaction and may
        refuse the same way.
        """
        moment = now()
        async with self.database.transaction() as tx:
            await lock_ledger(tx)
            row = await tx.fetchrow(_NEXT_TURN, (session_id, session_id))
            number = int(row[0]) if row is not None else 1
            spend = await held_and_spent(
                tx, session_id=session_id, user_id=user_id, day_start=day, at=moment
            )
            refusal: AtelierError | None = None
            try:
                admit(spend)
                if precheck is not None:
                    await precheck(tx, moment)
            except AtelierError as error:
                refusal = error
            amount = Decimal(0) if refusal is not None or estimate is None else estimate
            await tx.execute(
                "INSERT INTO reservations (id, session_id, turn, user_id, amount_usd, state, "
                "created_at, expires_at) VALUES (?, ?, ?, ?, ?, 'held', ?, ?)",
                (
                    f"rsv_{uuid.uuid4().hex}",
                    session_id,
                    number,
                    user_id,
                    str(amount),
                    ts(moment),
                    ts(expires_at),
                ),
            )
        return Admission(number, spend, refusal)

    async def release_reservation(self, session_id: str, turn: int) -> None:
        """Hold nothing more for a turn that will not be recorded (its number stays taken)."""
        async with self.database.transaction() as tx:
            await _close_turn_hold(tx, session_id, turn, "released")

    async def finish_turn(
        self,
        turn: TurnRecord,
        images: Sequence[ImageRecord],
        *,
        request: Mapping[str, Any] | None = None,
        response: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a begun turn in one transaction: its row, bill and images settle its hold,
        and its request/response log is written (when a request was made).

        Never replaces a recorded turn (IntegrityError); otherwise raises like ``record_turn``.
        """
        _check_images(turn, images)
        logged = None
        if request is not None:
            logged = await asyncio.to_thread(dump_exchange, request, response)
        async with self.database.transaction() as tx:
            await _insert_turn(tx, turn, images)
            await _close_turn_hold(tx, turn.session_id, turn.turn, "settled")
            if logged is not None:
                await tx.execute(
                    "INSERT INTO exchanges (session_id, turn, created_at, request_json, "
                    "response_json, error) VALUES (?, ?, ?, ?, ?, ?)",
                    (turn.session_id, turn.turn, ts(now()), *logged, turn.error_message),
                )

    async def record_turn(
        self,
        turn: TurnRecord,
        images: Sequence[ImageRecord],
        *,
        reservation_id: str | None = None,
    ) -> None:
        """Record a finished turn in one transaction: the turn, its cost lines, its images.

        Also moves the session on: ``updated_at``, ``turn_count`` and, for a turn whose
        response completed (status "ok" with a response id), ``last_response_id``. With a
        ``reservation_id`` the same transaction settles that budget reservation, so the
        turn's cost replaces its hold without a moment counted twice or not at all.
        Re-recording the same (session, turn) replaces its rows. Raises NotFound for an
        unknown session, ImageConflict when an image id belongs to another turn (nothing is
        written then), ValueError when an image is not from this turn.
        """
        _check_images(turn, images)
        key = (turn.session_id, turn.turn)
        async with self.database.transaction() as tx:
            await tx.execute("DELETE FROM cost_lines WHERE session_id = ? AND turn = ?", key)
            await tx.execute("DELETE FROM images WHERE session_id = ? AND turn = ?", key)
            await tx.execute("DELETE FROM turns WHERE session_id = ? AND turn = ?", key)
            await _insert_turn(tx, turn, images)
            if reservation_id is not None:
                await tx.execute(
                    "UPDATE reservations SET state = 'settled', closed_at = ? "
                    "WHERE id = ? AND state = 'held'",
                    (ts(now()), reservation_id),
                )


async def _close_turn_hold(tx: Tx, session_id: str, turn: int, state: str) -> None:
    await tx.execute(
        "UPDATE reservations SET state = ?, closed_at = ? "
        "WHERE session_id = ? AND turn = ? AND state = 'held'",
        (state, ts(now()), session_id, turn),
    )


def _check_images(turn: TurnRecord, images: Sequence[ImageRecord]) -> None:
    for image in images:
        if (image.session_id, image.turn) != (turn.session_id, turn.turn):
            raise ValueError(
                f"Image {image.id!r} is from session {image.session_id!r} turn {image.turn}, "
                f"not from session {turn.session_id!r} turn {turn.turn}."
            )
    ids = [image.id for image in images]
    if len(set(ids)) != len(ids):
        raise ValueError(f"Turn {turn.turn} lists an image id twice: {ids}.")


async def _insert_turn(tx: Tx, turn: TurnRecord, images: Sequence[ImageRecord]) -> None:
    """The turn's row, cost lines and images, and the session moved on (inside ``tx``)."""
    bill = turn.bill
    key = (turn.session_id, turn.turn)
    if await tx.fetchrow("SELECT 1 FROM sessions WHERE id = ?", (turn.session_id,)) is None:
        raise NotFound(f"Session {turn.session_id!r} does not exist.")
    await tx.execute(
        f"INSERT INTO turns ({TURN_COLUMNS}, total_usd, known_usd, estimated) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            turn.session_id,
            turn.turn,
            turn.user_text,
            turn.target_image_id,
            turn.response_id,
            turn.status,
            turn.error_code,
            turn.error_message,
            ts(turn.started_at),
            turn.latency_ms,
            dump_json(turn.settings),
            dump_json(turn.usage.to_dict()),
            money(bill.total_usd),
            str(bill.known_usd),
            int(bill.estimated),
        ),
    )
    await tx.executemany(
        "INSERT INTO cost_lines (session_id, turn, idx, kind, model, tokens, "
        "rate_per_mtok_usd, cost_usd, owner, estimated) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [_line_params(key, idx, line) for idx, line in enumerate(bill.lines)],
    )
    for image in images:
        try:
            await tx.execute(
                f"INSERT INTO images ({IMAGE_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                image_params(image),
            )
        except IntegrityError as exc:
            raise ImageConflict(
                f"Image id {image.id!r} is already recorded by another turn; "
                f"turn {turn.turn} of session {turn.session_id!r} was not recorded."
            ) from exc
    advance = turn.status == "ok" and turn.response_id is not None
    await tx.execute(
        "UPDATE sessions SET updated_at = ?, "
        "turn_count = (SELECT COUNT(*) FROM turns WHERE session_id = ?), "
        "last_response_id = CASE WHEN ? = 1 THEN ? ELSE last_response_id END "
        "WHERE id = ?",
        (ts(now()), turn.session_id, int(advance), turn.response_id, turn.session_id),
    )


def _line_params(key: tuple[str, int], idx: int, line: CostLine) -> tuple[Any, ...]:
    return (
        *key,
        idx,
        line.kind,
        line.model,
        line.tokens,
        money(line.rate_per_mtok_usd),
        money(line.cost_usd),
        line.owner,
        int(line.estimated),
    )
