"""Fixtures for the socket.io end-to-end tests (the harness lives in harness.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

_NAME = "atelier_e2e_harness"


def load_harness() -> ModuleType:
    """tests/e2e/harness.py, loaded by path once per process."""
    if _NAME in sys.modules:
        return sys.modules[_NAME]
    spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).with_name("harness.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def harness() -> ModuleType:
    """The harness module: ``run_server(data_dir, env)`` and ``Client(server)``."""
    return load_harness()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private Atelier data dir that survives server restarts within one test."""
    path = tmp_path / "atelier-data"
    path.mkdir()
    return path
