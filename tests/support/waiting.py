"""Waiting for what happens in the background (no tests here): poll a condition until it holds.

The deadlines are generous on purpose: conditions hold in well under a second, and a deadline only
bounds a broken build. Nothing here asserts on timing.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEADLINE_SECONDS = 30.0


class WaitTimedOut(AssertionError):
    """The condition did not hold before the deadline."""


def wait_until(
    condition: Callable[[], Any], what: str, *, deadline: float = DEADLINE_SECONDS, interval: float = 0.05
) -> Any:
    """Poll `condition` until it returns something truthy, and return that; fail naming `what` after the deadline."""
    end = time.monotonic() + deadline
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > end:
            raise WaitTimedOut(f"timed out waiting for {what}")
        time.sleep(interval)


def wait_for_file(path: Path, process: subprocess.Popen[Any], *, log: Path, deadline: float) -> None:
    """Wait until `process` writes `path`; fail at once, with the end of its `log`, if it exits first."""

    def written() -> bool:
        if path.exists():
            return True
        if process.poll() is not None:
            raise AssertionError(f"the process exited ({process.returncode}) before writing {path}:\n{_tail(log)}")
        return False

    try:
        wait_until(written, str(path), deadline=deadline, interval=0.1)
    except WaitTimedOut:
        raise AssertionError(f"{path} did not appear in {deadline:.0f} s:\n{_tail(log)}") from None


def _tail(log: Path, characters: int = 4000) -> str:
    try:
        return log.read_text(errors="replace")[-characters:]
    except FileNotFoundError:
        return "(no log)"
