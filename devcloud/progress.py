"""Progress bars for the long commands (seeding the demo data, loading the orders benchmark's 100,000 orders).

Drawn with rich (as the flash-sale simulator's), on stderr, and only for a person watching: when stderr is
not a terminal, or under pytest, `progress_bar` gives a counter that draws nothing, so logs and test output
stay as they were.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Advance = Callable[[int], None]


def shown() -> bool:
    return sys.stderr.isatty() and "PYTEST_CURRENT_TEST" not in os.environ


def no_progress(done: int) -> None:
    """What a caller without a bar advances."""


@contextmanager
def progress_bar(label: str, total: int) -> Iterator[Advance]:
    """A bar of `total` steps; yields `advance(n)`, which moves it n steps on."""
    if not shown():
        yield no_progress
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, advance=done)
