"""Steps (messages, runs, tool calls) and their feedback.

A writer may only create, update or delete steps in threads it owns; a step id that lives in
another thread is refused, never moved. Feedback goes only on steps of the writer's threads.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, cast

from chainlit.types import Feedback, FeedbackDict

from agent.store.database import Row, Tx
from ui.datalayer.core import (
    Core,
    WriteRefused,
    as_bool,
    as_int,
    as_text,
    dumps,
    loads,
    normalize_timestamp,
    now_iso,
    queued,
)
from ui.datalayer.writer import Writer, current_writer

if TYPE_CHECKING:
    from chainlit.step import StepDict

_UPSERT_STEP = """
    INSERT INTO cl_steps (
        id, thread_id, parent_id, name, type, command, modes_json, streaming,
        wait_for_answer, is_error, metadata_json, tags_json, input, output, created_at,
        start, "end", generation_json, show_input_json, default_open, auto_collapse,
        language, icon, seq
    ) VALUES (
        ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, SEQ
    )
    ON CONFLICT (id) DO UPDATE SET
        thread_id = COALESCE(cl_steps.thread_id, excluded.thread_id),
        parent_id = COALESCE(excluded.parent_id, cl_steps.parent_id),
        name = COALESCE(excluded.name, cl_steps.name),
        type = CASE WHEN excluded.type = 'run' AND cl_steps.type IS NOT NULL
                    THEN cl_steps.type ELSE excluded.type END,
        command = COALESCE(excluded.command, cl_steps.command),
        modes_json = COALESCE(excluded.modes_json, cl_steps.modes_json),
        streaming = COALESCE(excluded.streaming, cl_steps.streaming),
        wait_for_answer = COALESCE(excluded.wait_for_answer, cl_steps.wait_for_answer),
        is_error = COALESCE(excluded.is_error, cl_steps.is_error),
        metadata_json = CASE WHEN excluded.metadata_json <> '{}'
                             THEN excluded.metadata_json ELSE cl_steps.metadata_json END,
        tags_json = COALESCE(excluded.tags_json, cl_steps.tags_json),
        input = COALESCE(NULLIF(excluded.input, ''), cl_steps.input),
        output = COALESCE(NULLIF(excluded.output, ''), cl_steps.output),
        created_at = CASE WHEN cl_steps.created_at IS NULL
                               OR excluded.created_at < cl_steps.created_at
                          THEN excluded.created_at ELSE cl_steps.created_at END,
        start = COALESCE(cl_steps.start, excluded.start),
        "end" = COALESCE(excluded."end", cl_steps."end"),
        generation_json = COALESCE(excluded.generation_json, cl_steps.generation_json),
        show_input_json = COALESCE(excluded.show_input_json, cl_steps.show_input_json),
        default_open = COALESCE(excluded.default_open, cl_steps.default_open),
        auto_collapse = COALESCE(excluded.auto_collapse, cl_steps.auto_collapse),
        language = COALESCE(excluded.language, cl_steps.language),
        icon = COALESCE(excluded.icon, cl_steps.icon)
"""

STEPS_WITH_FEEDBACK = """
    SELECT s.*, f.id AS feedback_id, f.value AS feedback_value, f.comment AS feedback_comment
    FROM cl_steps s
    LEFT JOIN cl_feedbacks f ON f.id = (
        SELECT id FROM cl_feedbacks WHERE for_id = s.id ORDER BY created_at DESC LIMIT 1
    )
"""


def step_dict(row: Row) -> StepDict:
    """A stored step (joined with its latest feedback) as Chainlit's StepDict."""
    feedback: FeedbackDict | None = None
    if row["feedback_id"] is not None:
        feedback = {
            "forId": row["id"],
            "id": row["feedback_id"],
            "value": cast(Literal[0, 1], int(row["feedback_value"])),
            "comment": row["feedback_comment"],
        }
    return cast(
        "StepDict",
        {
            "id": row["id"],
            "threadId": row["thread_id"] or "",
            "parentId": row["parent_id"],
            "name": row["name"] if row["name"] is not None else "",
            "type": row["type"],
            "command": row["command"],
            "modes": loads(row["modes_json"], None),
            "streaming": bool(row["streaming"]),
            "waitForAnswer": as_bool(row["wait_for_answer"]),
            "isError": as_bool(row["is_error"]),
            "metadata": loads(row["metadata_json"], {}),
            "tags": loads(row["tags_json"], None),
            "input": row["input"] if row["input"] is not None else "",
            "output": row["output"] if row["output"] is not None else "",
            "createdAt": row["created_at"],
            "start": row["start"],
            "end": row["end"],
            "generation": loads(row["generation_json"], None),
            "showInput": loads(row["show_input_json"], None),
            "defaultOpen": as_bool(row["default_open"]),
            "autoCollapse": as_bool(row["auto_collapse"]),
            "language": row["language"],
            "icon": row["icon"],
            "feedback": feedback,
        },
    )


@dataclass
class _StepBatch:
    """Step writes that go to the database together, in one transaction."""

    items: list[tuple[StepDict, Writer | None]] = field(default_factory=list)
    task: asyncio.Future[None] | None = None


class Steps(Core):
    """Step upsert/delete and feedback, with ownership checks."""

    _step_batch: _StepBatch | None = None

    async def _upsert_step(self, db: Tx, step: StepDict, writer: Writer | None) -> None:
        thread_id = step.get("threadId") or None
        parent_id = step.get("parentId") or None
        await self._check_thread(db, writer, thread_id, "step")
        await self._check_row(
            db, writer, "cl_steps", step["id"], thread_id, "step", thread_checked=True
        )
        if parent_id:
            await self._check_row(
                db, writer, "cl_steps", parent_id, thread_id, "parent step", thread_checked=True
            )
        if thread_id:
            await self._ensure_thread(db, thread_id, writer)
            await db.execute(
                "UPDATE cl_threads SET updated_at = ? WHERE id = ?", (now_iso(), thread_id)
            )
        if parent_id:
            await self._ensure_step(db, parent_id, thread_id)
        metadata = step.get("metadata") or {}
        show_input = step.get("showInput")
        await db.execute(
            _UPSERT_STEP.replace("SEQ", self._next_seq(db)),
            (
                step["id"],
                thread_id,
                parent_id,
                step.get("name"),
                step.get("type") or "undefined",
                step.get("command"),
                None if step.get("modes") is None else dumps(step.get("modes")),
                as_int(step.get("streaming")),
                as_int(step.get("waitForAnswer")),
                as_int(step.get("isError")),
                dumps(metadata),
                None if step.get("tags") is None else dumps(step.get("tags")),
                as_text(step.get("input")),
                as_text(step.get("output")),
                normalize_timestamp(step.get("createdAt")) or now_iso(),
                normalize_timestamp(step.get("start")),
                normalize_timestamp(step.get("end")),
                None if step.get("generation") is None else dumps(step.get("generation")),
                None if show_input is None else dumps(show_input),
                as_int(step.get("defaultOpen")),
                as_int(step.get("autoCollapse")),
                step.get("language"),
                step.get("icon") or metadata.get("icon"),
            ),
        )

    async def _write_step(self, step: StepDict) -> None:
        """Write a step, batched on SQLite: the steps that arrive while the connection is
        busy (a turn sends several at once, many users more) share one transaction and one
        commit. Returns once the step is committed; each step keeps its writer's checks.

        PostgreSQL runs transactions side by side (no file lock to share), and one failed
        statement aborts its whole transaction: there each step has its own.
        """
        if (await self._connection()).dialect == "postgres":
            async with self._write() as db:
                try:
                    await self._upsert_step(db, step, current_writer())
                except WriteRefused as error:
                    self._refused(error, current_writer())
            return
        batch = self._step_batch
        if batch is None:
            batch = self._step_batch = _StepBatch()
            batch.task = asyncio.ensure_future(self._write_steps(batch))
        batch.items.append((step, current_writer()))
        assert batch.task is not None
        await asyncio.shield(batch.task)

    async def _write_steps(self, batch: _StepBatch) -> None:
        async with self._write() as db:
            if self._step_batch is batch:
                self._step_batch = None  # steps from now on go in the next batch
            for step, writer in batch.items:
                try:  # the checks come before any write: a refused step leaves nothing
                    await self._upsert_step(db, step, writer)
                except WriteRefused as error:
                    self._refused(error, writer)

    @queued
    async def create_step(self, step_dict: StepDict) -> None:
        """Create or merge a step (Chainlit's upsert rules: empty values never erase)."""
        await self._write_step(step_dict)

    @queued
    async def update_step(self, step_dict: StepDict) -> None:
        """Merge a step's new state into the stored one."""
        await self._write_step(step_dict)

    @queued
    async def delete_step(self, step_id: str) -> None:
        """Delete a step, its descendants, their elements (and files) and feedback."""
        writer = current_writer()
        try:
            async with self._write() as db:
                await self._check_row(db, writer, "cl_steps", step_id, None, "step")
                rows = await self._delete_step_tree(db, step_id)
        except WriteRefused as error:
            self._refused(error, writer)
            return
        await self._delete_files(row["object_key"] for row in rows)

    async def _delete_step_tree(self, db: Tx, step_id: str) -> list[Row]:
        """Delete the step, its descendants, their elements and feedback; the elements' keys.

        Each DELETE finds the subtree itself (a recursive CTE), steps last, so the tree is
        still there for the elements and feedback.
        """
        tree = """
            WITH RECURSIVE tree(id) AS (
                SELECT CAST(? AS TEXT)
                UNION SELECT s.id FROM cl_steps s JOIN tree ON s.parent_id = tree.id
            )
        """
        rows = await db.fetch(
            tree + "DELETE FROM cl_elements WHERE for_id IN (SELECT id FROM tree) "
            "RETURNING object_key",
            (step_id,),
        )
        await db.execute(
            tree + "DELETE FROM cl_feedbacks WHERE for_id IN (SELECT id FROM tree)", (step_id,)
        )
        await db.execute(
            tree + "DELETE FROM cl_steps WHERE id IN (SELECT id FROM tree)", (step_id,)
        )
        return rows

    # ------------------------------------------------------------------ feedback

    async def upsert_feedback(self, feedback: Feedback) -> str:
        """Store the feedback on a step (one per step; a new one replaces the old).

        Raises ``WriteRefused`` unless the step is in one of the writer's threads (and a
        given feedback id is that step's).
        """
        writer = current_writer()
        async with self._write() as db:
            step = await self._one(
                db, "SELECT thread_id FROM cl_steps WHERE id = ?", (feedback.forId,)
            )
            thread_id = step["thread_id"] if step else feedback.threadId
            if writer is not None and (step is None or not thread_id):
                raise WriteRefused(f"feedback on unknown step {feedback.forId}")
            await self._check_thread(db, writer, thread_id, "feedback")
            feedback_id = await self._feedback_id(db, feedback)
            await db.execute(
                """
                INSERT INTO cl_feedbacks (id, for_id, thread_id, name, value, comment, created_at)
                VALUES (?, ?, ?, 'user_feedback', ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET
                    value = excluded.value, comment = excluded.comment
                """,
                (
                    feedback_id,
                    feedback.forId,
                    thread_id,
                    int(feedback.value),
                    feedback.comment,
                    now_iso(),
                ),
            )
        return feedback_id

    async def _feedback_id(self, db: Tx, feedback: Feedback) -> str:
        if feedback.id is not None:
            existing = await self._one(
                db, "SELECT for_id FROM cl_feedbacks WHERE id = ?", (feedback.id,)
            )
            if existing is not None and existing["for_id"] != feedback.forId:
                raise WriteRefused(f"feedback {feedback.id} is on another step")
            return feedback.id
        row = await self._one(db, "SELECT id FROM cl_feedbacks WHERE for_id = ?", (feedback.forId,))
        return str(row["id"]) if row else str(uuid.uuid4())

    async def delete_feedback(self, feedback_id: str) -> bool:
        """Delete a feedback on one of the writer's threads; True if it was deleted."""
        writer = current_writer()
        async with self._write() as db:
            row = await self._one(
                db,
                """
                SELECT COALESCE(s.thread_id, f.thread_id) AS thread_id
                FROM cl_feedbacks f LEFT JOIN cl_steps s ON s.id = f.for_id WHERE f.id = ?
                """,
                (feedback_id,),
            )
            if row is None or not await self._owns_thread(db, writer, row["thread_id"]):
                return False
            deleted = await db.execute("DELETE FROM cl_feedbacks WHERE id = ?", (feedback_id,))
        return deleted > 0
