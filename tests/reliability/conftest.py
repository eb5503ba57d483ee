"""Fixtures for the reliability tests that drive a real ``chainlit run`` server.

They reuse the UI helper's socket.io harness (tests/e2e/harness.py, loaded by path under
the same module name its own conftest uses, so both share one module object).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

_NAME = "atelier_e2e_harness"
_HARNESS = Path(__file__).resolve().parents[1] / "e2e" / "harness.py"


def load_e2e_harness() -> ModuleType:
    """tests/e2e/harness.py, loaded once per process."""
    if _NAME in sys.modules:
        return sys.modules[_NAME]
    spec = importlib.util.spec_from_file_location(_NAME, _HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def e2e() -> ModuleType:
    """The socket.io harness: ``run_server(data_dir, env)``, ``Client(server)``."""
    return load_e2e_harness()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private Atelier data dir that survives server restarts within one test."""
    path = tmp_path / "atelier-data"
    path.mkdir()
    return path
