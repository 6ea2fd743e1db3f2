"""Workers killed mid-invocation: the Lambda runtime's kill hook.

The runtime calls `arm(function, pid)` as it hands an invocation to a worker and the returned `disarm()` once
the worker answered (or died). With the function's kill probability, `arm` starts a timer that SIGKILLs the
worker at a random point of its handler: a uniform fraction of the function's recent duration, so kills
land anywhere between its writes. `disarm` stops a timer that has not fired and says whether the worker was
killed; the runtime then reports the invocation as Lambda reports a dead sandbox (`Runtime.ExitError`) and
starts a fresh worker for the next one.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable

_FIRST_GUESS_SECONDS = 0.05  # a handler's duration before one was seen
_SMOOTHING = 0.3  # weight of the newest duration in the running estimate

Disarm = Callable[[], bool]


class WorkerKiller:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._switches: dict[str, float] = {}  # function (logical id or name) -> probability
        self._durations: dict[str, float] = {}  # function -> running estimate of its handler's seconds
        self.killed: Counter[str] = Counter()

    def configure(self, probabilities: dict[str, float]) -> None:
        """Kill these functions (by logical id) with these probabilities from now on, and no other."""
        with self._lock:
            self._switches = dict(probabilities)

    def arm(self, function: str, pid: int) -> Disarm:
        with self._lock:
            probability = self._switches.get(function, 0.0)
            if probability <= 0 or self._rng.random() >= probability:
                return self._timed(function)
            delay = self._rng.uniform(0, self._durations.get(function, _FIRST_GUESS_SECONDS))
        state = {"done": False, "killed": False}
        lock = threading.Lock()

        def kill() -> None:
            with lock:
                if state["done"]:
                    return
                state["killed"] = True
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    state["killed"] = False
                    return
            with self._lock:
                self.killed[function] += 1

        timer = threading.Timer(delay, kill)
        timer.daemon = True
        timer.start()

        def disarm() -> bool:
            with lock:
                state["done"] = True
            timer.cancel()
            return state["killed"]

        return disarm

    def _timed(self, function: str) -> Disarm:
        """A disarm that only learns how long the handler took (an invocation left alone)."""
        started = time.monotonic()

        def disarm() -> bool:
            elapsed = time.monotonic() - started
            with self._lock:
                before = self._durations.get(function, elapsed)
                self._durations[function] = (1 - _SMOOTHING) * before + _SMOOTHING * elapsed
            return False

        return disarm

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.killed)
