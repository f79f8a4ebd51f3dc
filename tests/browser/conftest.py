"""A real browser for the timeline page: Debian's headless Chromium, driven by Playwright.

Playwright's own browser downloads (``playwright install``) are never used: the browser is
``/usr/bin/chromium`` (``.ci/run`` installs it). Without it the tests skip, except in CI
(``CI=true``), where a missing browser fails them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# The emulators and the bot, as the scenarios start them.
from tests.scenarios.conftest import (  # noqa: F401
    clock,
    clusters,
    fleet,
    github,
    shop_live_in_staging,
    slack,
    workdir,
)

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why}: CI must run the browser tests (.ci/run installs chromium)")
    pytest.skip(why)


@dataclass
class Tab:
    """A page with what it said on its console, and the requests that failed."""

    page: Any
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: Path) -> AsyncIterator[Any]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("the playwright package is missing (pip install -e '.[dev]')")
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=str(chromium_path), args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def tab(browser: Any) -> AsyncIterator[Tab]:
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    opened = Tab(page)
    page.on(
        "console",
        lambda m: opened.errors.append(f"console: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: opened.errors.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: opened.errors.append(f"request failed: {r.url}"))
    try:
        yield opened
    finally:
        await context.close()
