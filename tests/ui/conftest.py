"""Fixtures for the persistence tests (data layer, storage, auth).

Importing Chainlit pulls in traceloop, whose pydantic models emit deprecation warnings at
import time; with ``filterwarnings = error`` that would fail collection. Import it once here
with exactly those import-time warnings ignored; nothing is muted while tests run.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import chainlit  # noqa: F401
