"""Fixtures for the store tests: every store test runs on SQLite and on PostgreSQL.

PostgreSQL is a throwaway cluster (tests/scale/services.py: Debian's server, initdb into a
temporary folder, a free port on 127.0.0.1) started once per test run; each test gets a
fresh database in it.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import ModuleType

import pytest

from agent.store.db import Store

_SERVICES = "atelier_scale_services"
_SERVICES_PATH = Path(__file__).resolve().parents[1] / "scale" / "services.py"
_numbers = itertools.count()


def load_services() -> ModuleType:
    """tests/scale/services.py (PostgreSQL and S3 launchers), loaded once by path."""
    if _SERVICES in sys.modules:
        return sys.modules[_SERVICES]
    spec = importlib.util.spec_from_file_location(_SERVICES, _SERVICES_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_SERVICES] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a test's store lives: a fresh SQLite file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "db" / "atelier.db"
    cluster = request.getfixturevalue("pg_cluster")
    return str(load_services().create_database(cluster, f"store_{next(_numbers)}"))


OpenStore = Callable[[], Awaitable[Store]]


@pytest.fixture
async def open_store(store_target: str | Path) -> AsyncIterator[OpenStore]:
    """Opens more stores on the test's database (closed after the test)."""
    opened: list[Store] = []

    async def opener() -> Store:
        store = await Store.open(store_target)
        opened.append(store)
        return store

    try:
        yield opener
    finally:
        for store in opened:
            await store.close()


@pytest.fixture
async def store(open_store: OpenStore) -> Store:
    """A fresh store on the test's backend."""
    return await open_store()
