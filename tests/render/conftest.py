"""The engine fixtures (in-memory engine, the real SDK in process) for engine-level tests."""

from tests.engine.conftest import client, engine, http

__all__ = ["client", "engine", "http"]
