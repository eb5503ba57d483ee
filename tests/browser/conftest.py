"""Fixtures for the browser test: the e2e server harness and Debian's Chromium via Playwright.

Never downloads a browser: Playwright drives /usr/bin/chromium (the Makefile installs the
Debian package for CI) with a fresh profile directory per test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from playwright.async_api import (
    BrowserContext,
    Page,
    async_playwright,
)

from tests.browser.pages import PageWatch

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
    path = Path(__file__).resolve().parents[2] / "test-output"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """A Chromium context with a fresh profile and a desktop-sized window."""
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


@pytest.fixture
def watch() -> Callable[[Page, str], PageWatch]:
    """Attach a PageWatch to a page: ``watch(page, server.url)``."""
    return PageWatch
