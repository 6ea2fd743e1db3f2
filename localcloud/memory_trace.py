"""A debug switch for the local cloud's own memory: `LOCALCLOUD_TRACEMALLOC=SECONDS` makes `run` trace the main
process's allocations (Python's `tracemalloc`) and print, every SECONDS, the lines whose allocations grew most
since the previous dump, to stderr. For finding what the main process (edge, moto, the rooms) keeps; it slows the
process down (every allocation made after start-up is traced), so it is off unless asked for.

    LOCALCLOUD_TRACEMALLOC=60 make run
    LOCALCLOUD_TRACEMALLOC=60 LOCALCLOUD_TRACEMALLOC_TOP=25 .venv/bin/python -m bench.flash_sale --start --fast ...
"""

from __future__ import annotations

import os
import sys
import threading
import tracemalloc
from typing import TextIO

ENV = "LOCALCLOUD_TRACEMALLOC"
TOP_ENV = "LOCALCLOUD_TRACEMALLOC_TOP"
FRAMES = 12


class MemoryTrace:
    """Periodic top-N dumps of tracemalloc's growth by line (with the allocating stack's deepest frames)."""

    def __init__(self, interval: float, top: int = 15, out: TextIO | None = None) -> None:
        self.interval, self.top = interval, top
        self._out = out or sys.stderr
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="localcloud-tracemalloc", daemon=True)
        self._previous: tracemalloc.Snapshot | None = None
        self._dumps = 0

    @classmethod
    def from_env(cls) -> MemoryTrace | None:
        value = os.environ.get(ENV, "").strip()
        if not value or value in ("0", "off"):
            return None
        try:
            interval = float(value)
        except ValueError:
            print(f"localcloud: {ENV}={value!r} is not a number of seconds; not tracing", file=sys.stderr)
            return None
        top = int(os.environ.get(TOP_ENV, "15") or 15)
        return cls(max(1.0, interval), top)

    def start(self) -> MemoryTrace:
        tracemalloc.start(FRAMES)
        self._previous = self._snapshot()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 30)
        tracemalloc.stop()

    @staticmethod
    def _snapshot() -> tracemalloc.Snapshot:
        ignored = (
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
        )
        return tracemalloc.take_snapshot().filter_traces(ignored)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.dump()

    def dump(self) -> None:
        snapshot = self._snapshot()
        current, peak = tracemalloc.get_traced_memory()
        self._dumps += 1
        lines = [f"[tracemalloc #{self._dumps}] traced {current / 2**20:.1f} MiB (peak {peak / 2**20:.1f} MiB)"]
        if self._previous is not None:
            stats = snapshot.compare_to(self._previous, "traceback")
            stats.sort(key=lambda s: s.size_diff, reverse=True)
            for stat in stats[: self.top]:
                lines.append(
                    f"  {stat.size_diff / 2**20:+8.2f} MiB ({stat.count_diff:+d} blocks), "
                    f"{stat.size / 2**20:.2f} MiB in all"
                )
                lines += [f"      {frame.filename}:{frame.lineno}" for frame in list(stat.traceback)[-FRAMES:]]
        self._previous = snapshot
        print("\n".join(lines), file=self._out, flush=True)
