"""A headless Chromium for the console's tests: the system's browser (Debian's `chromium`, which `.ci/run`
installs), driven by Playwright's own driver from its wheel; nothing is downloaded. Where there is no browser,
every browser test is skipped with the reason. Screenshots go to .artifacts/console/ (printed at the end)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.template import ROOT

ARTIFACTS = ROOT / ".artifacts" / "console"
BROWSER_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def system_chromium() -> str | None:
    """CONSOLE_BROWSER if set, else the first Chromium on PATH."""
    given = os.environ.get("CONSOLE_BROWSER")
    if given:
        return given if Path(given).is_file() else None
    return next((found for name in BROWSER_CANDIDATES if (found := shutil.which(name))), None)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    executable = system_chromium()
    if executable is None:
        pytest.skip(
            "no Chromium on this machine (install Debian's chromium package, as .ci/run does, "
            "or set CONSOLE_BROWSER=/path/to/chromium): the console's browser tests did not run"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (make install): the console's browser tests did not run")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Iterator[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield ARTIFACTS
    print(f"\nconsole screenshots: {ARTIFACTS}")
