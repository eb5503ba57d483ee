"""Fixtures for the store tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agent.store.db import Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh store on a private file, closed after the test."""
    opened = await Store.open(tmp_path / "db" / "atelier.db")
    try:
        yield opened
    finally:
        await opened.close()
