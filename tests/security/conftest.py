"""Browser fixtures for the security tests (as tests/browser/conftest.py gives its tests):
Debian's Chromium driven by Playwright, a fresh profile per test, screenshots in test-output/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, async_playwright

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
