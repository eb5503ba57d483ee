"""The agent's turn, budget and isolation tests, rerun with the store on PostgreSQL.

The test functions are the ones in tests/agent (loaded by path, unchanged); only the
settings differ: ``ATELIER_DATABASE_URL`` points at a fresh database in a throwaway cluster,
so every session, turn, bill, image record and lineage query goes through asyncpg.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from agent.config import Settings
from agent.runtime import Atelier

TESTS = Path(__file__).resolve().parents[1]
_numbers = itertools.count()

# (module, test) pairs: budget refusal, deletion isolation (another user can neither delete
# nor resume), the turn loop with lineage, retries and a cut stream that keeps its spend.
RERUN = [
    ("agent/test_turns.py", "test_budget_refusal_happens_before_any_request"),
    ("agent/test_turns.py", "test_generate_then_refine_by_chain"),
    ("agent/test_turns.py", "test_refine_an_older_image_by_id_records_its_lineage"),
    ("agent/test_turns.py", "test_cut_stream_keeps_what_was_spent_and_presents_no_final"),
    ("agent/test_turns.py", "test_rate_limit_is_retried_then_succeeds"),
    ("agent/test_delete.py", "test_delete_removes_images_prompts_and_log_but_keeps_spend"),
]


def _load(relative: str) -> ModuleType:
    name = "atelier_pg_rerun_" + relative.replace("/", "_").removesuffix(".py")
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TESTS / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def pg_settings(pg_cluster: Any, services: ModuleType, tmp_path: Path) -> Settings:
    """Settings with a private data dir and the store on a fresh PostgreSQL database."""
    url = services.create_database(pg_cluster, f"agent_{next(_numbers)}")
    return Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=tmp_path / "data", database_url=url
    )


@pytest.mark.parametrize(("module", "name"), RERUN, ids=[name for _, name in RERUN])
async def test_agent_test_on_postgres(module: str, name: str, pg_settings: Settings) -> None:
    test: Callable[..., Awaitable[None]] = getattr(_load(module), name)
    if "atelier" in test.__code__.co_varnames[: test.__code__.co_argcount]:
        app = await Atelier.open(pg_settings)
        try:
            assert app.store.database.dialect == "postgres"
            await test(app)
        finally:
            await app.aclose()
    else:
        await test(pg_settings)


async def test_the_store_really_is_postgres(pg_settings: Settings) -> None:
    app = await Atelier.open(pg_settings)
    try:
        session = await app.new_session(user_id="ann")
        rows = await app.store.database.fetch(
            "SELECT user_id FROM sessions WHERE id = ?", (session.id,)
        )
        assert [tuple(row) for row in rows] == [("ann",)]
        assert app.store.path is None
        assert not (pg_settings.data_dir / "atelier.db").exists()
    finally:
        await app.aclose()
