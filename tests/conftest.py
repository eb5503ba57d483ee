"""Suite-wide guards and fixtures.

No test may reach a real model: the OpenAI variables are removed and any socket connection
to a non-loopback address fails loudly (as pydantic-ai's ALLOW_MODEL_REQUESTS = False does).
"""

from __future__ import annotations

import importlib.util
import ipaddress
import itertools
import socket
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from playwright.async_api import BrowserContext, async_playwright

from agent.config import Settings

# Chainlit's import pulls in traceloop, whose pydantic models emit deprecation warnings at
# import time; with filterwarnings = error that would fail collection. Import it once here
# with only those import-time warnings ignored; nothing is muted while tests run.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import chainlit  # noqa: F401

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address: Any) -> bool:
    if isinstance(address, str | bytes):  # unix socket path
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not _is_local(address):
        raise RuntimeError(f"Tests may not make network requests (tried {address!r}).")
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if not _is_local(address):
        raise RuntimeError(f"Tests may not make network requests (tried {address!r}).")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _no_real_model_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    yield


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for one test: a private data dir, no .env file, the embedded engine."""
    return Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]


_HARNESS_NAME = "atelier_e2e_harness"
_HARNESS_PATH = Path(__file__).resolve().parent / "e2e" / "harness.py"


def load_e2e_harness() -> ModuleType:
    """tests/e2e/harness.py (a real ``chainlit run`` + socket.io client), loaded once."""
    if _HARNESS_NAME in sys.modules:
        return sys.modules[_HARNESS_NAME]
    spec = importlib.util.spec_from_file_location(_HARNESS_NAME, _HARNESS_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_HARNESS_NAME] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def harness() -> ModuleType:
    """The server harness: ``run_server(data_dir, env)`` and ``Client(server)``."""
    return load_e2e_harness()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private Atelier data dir that survives server restarts within one test."""
    path = tmp_path / "atelier-data"
    path.mkdir()
    return path


_SERVICES_NAME = "atelier_scale_services"
_SERVICES_PATH = Path(__file__).resolve().parent / "scale" / "services.py"


def load_scale_services() -> ModuleType:
    """tests/scale/services.py (throwaway PostgreSQL, moto S3), loaded once by path."""
    if _SERVICES_NAME in sys.modules:
        return sys.modules[_SERVICES_NAME]
    spec = importlib.util.spec_from_file_location(_SERVICES_NAME, _SERVICES_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_SERVICES_NAME] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """One throwaway PostgreSQL cluster for the whole run, shared by every test folder."""
    with load_scale_services().postgres_cluster() as cluster:
        yield cluster


_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgres"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A test's database on each backend: a fresh SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "atelier.db"
    cluster = request.getfixturevalue("pg_cluster")
    return str(load_scale_services().create_database(cluster, f"db_{next(_databases)}"))


@pytest.fixture(params=["sqlite", "postgres"])
def database_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """A server's database on each backend: the data dir's SQLite file (no variable), then
    ``ATELIER_DATABASE_URL`` on a fresh PostgreSQL database (store, ledger and data layer)."""
    if request.param == "sqlite":
        return {}
    cluster = request.getfixturevalue("pg_cluster")
    url = load_scale_services().create_database(cluster, f"app_{next(_databases)}")
    return {"ATELIER_DATABASE_URL": str(url)}


# --------------------------------------------------------------------------- browsers

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture
def output_dir() -> Path:
    """Where screenshots go (test-output/, ignored by git)."""
    path = Path(__file__).resolve().parents[1] / "test-output"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """Debian's Chromium (never a downloaded browser) driven by Playwright: a fresh profile
    and a desktop-sized window."""
    assert CHROMIUM.exists(), "Install Debian's chromium: apt-get install -y chromium"
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1360, "height": 900},
        )
        try:
            yield context
        finally:
            await context.close()
