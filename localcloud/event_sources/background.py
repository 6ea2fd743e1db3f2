"""A named daemon thread that repeats one step until told to stop, and survives a failing step.

Every poller, the scheduler and the TTL sweeper are one of these. `stop()` only signals; `join()`
waits. The owner signals all of them first and then joins them, so the whole stop takes as long
as the slowest step in flight (one long poll) instead of the sum of them.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

logger = logging.getLogger(__name__)

# After an unexpected error (the edge not answering, a table deleted), try again later, not in a hot loop.
_ERROR_BACKOFF_SECONDS = 1.0


class BackgroundLoop(ABC):
    def __init__(self, name: str) -> None:
        self.name = name
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def join(self) -> None:
        if self._thread.is_alive():
            self._thread.join()

    def sleep(self, seconds: float) -> bool:
        """Wait up to `seconds`; True if the loop was asked to stop meanwhile."""
        return self._stopping.wait(max(seconds, 0.0))

    @abstractmethod
    def step(self) -> float:
        """Do one unit of work; return how long to wait before the next one (0 for at once)."""

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                delay = self.step()
            except Exception:
                logger.exception("%s: step failed; retrying in %.1fs", self.name, _ERROR_BACKOFF_SECONDS)
                delay = _ERROR_BACKOFF_SECONDS
            if delay > 0:
                self._stopping.wait(delay)
