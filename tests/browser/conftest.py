"""Fixtures for the browser tests (Chromium and the output folder come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.async_api import Page

from tests.browser.pages import PageWatch


@pytest.fixture
def watch() -> Callable[[Page, str], PageWatch]:
    """Attach a PageWatch to a page: ``watch(page, server.url)``."""
    return PageWatch
