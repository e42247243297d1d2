"""Debian's Chromium for the browser tests (marked `browser`), driven by Playwright.

`make test` installs it when it can and otherwise deselects these tests, saying so in one
line (except under CI, where they are required); run directly, a test fails without it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import Browser, async_playwright

CHROMIUM = Path("/usr/bin/chromium")


def executable() -> str:
    assert CHROMIUM.exists(), "Chromium is missing: sudo apt-get install -y chromium"
    return str(CHROMIUM)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        path = executable()
        browser = await playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield browser
        await browser.close()
