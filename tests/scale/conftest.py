"""Fixtures for the scale-out tests: real PostgreSQL, a real S3-compatible server, haproxy."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

_SERVICES = "atelier_scale_services"
_SERVICES_PATH = Path(__file__).resolve().parent / "services.py"


def load_services() -> ModuleType:
    """tests/scale/services.py, loaded once by path (shared with tests/store)."""
    if _SERVICES in sys.modules:
        return sys.modules[_SERVICES]
    spec = importlib.util.spec_from_file_location(_SERVICES, _SERVICES_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_SERVICES] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def services() -> ModuleType:
    """The service launchers (PostgreSQL, S3)."""
    return load_services()


@pytest.fixture(scope="session")
def s3() -> Iterator[Any]:
    """moto's S3 server on a free 127.0.0.1 port for the whole run."""
    with load_services().s3_server() as server:
        yield server
