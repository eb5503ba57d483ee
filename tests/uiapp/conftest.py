"""Fixtures for the UI module tests.

Importing Chainlit pulls in dependencies (traceloop, via Chainlit's integrations) that emit
pydantic deprecation warnings at import time; with ``filterwarnings = error`` that would fail
collection. Import it once here with exactly those warnings ignored; nothing else is muted.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import chainlit  # noqa: F401
