"""Typed ids: whole, short (first or last 8), unique parts; clear errors otherwise."""

from __future__ import annotations

import pytest

from agent.errors import NotFound
from agent.store.ids import AmbiguousId, resolve_id

SESSIONS = [
    "3f2a9c1e-0000-4000-8000-000000000001",
    "3f2a9c1e-0000-4000-8000-000000000002",
    "a1b2c3d4-0000-4000-8000-00000000aaaa",
]
IMAGES = ["ig_0011223344556677a41c09ff", "ig_99887766554433221b2c3d4e"]


def resolve(typed: str, ids: list[str]) -> str:
    return resolve_id(typed, ids, kind="session", hint="List them with `atelier sessions`.")


def test_whole_id() -> None:
    assert resolve(SESSIONS[1], SESSIONS) == SESSIONS[1]


def test_short_forms() -> None:
    assert resolve("a1b2c3d4", SESSIONS) == SESSIONS[2]
    assert resolve("A1B2C3D4", SESSIONS) == SESSIONS[2]
    assert resolve("a41c09ff", IMAGES) == IMAGES[0]
    assert resolve("`1b2c3d4e`", IMAGES) == IMAGES[1]


def test_ambiguous_names_the_candidates() -> None:
    with pytest.raises(AmbiguousId) as caught:
        resolve("3f2a9c1e", SESSIONS)
    message = caught.value.user_message
    assert "fits 2 sessions" in message and SESSIONS[0] in message and SESSIONS[1] in message


@pytest.mark.parametrize("typed", ["zzzzzzzz", "", "   "])
def test_unknown_or_empty(typed: str) -> None:
    with pytest.raises(NotFound) as caught:
        resolve(typed, SESSIONS)
    assert "atelier sessions" in caught.value.user_message
