"""The one backoff of the layer: how long to wait before trying again after a collision or a throttle.

The ceiling doubles from `base_seconds` with each attempt, up to `cap_seconds`; `jitter` is the random share
of it (1.0 "full jitter", as AWS recommends for optimistic retries; 0.5 "equal jitter"; 0.0 none), so writers
that just collided do not collide again. Plain standard library: tenacity would cost its import on every cold
start for the few lines used here. Each caller keeps its own loop, because what is worth retrying differs
(a lost optimistic write, unprocessed keys, a resuming database).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    attempts: int = 6
    base_seconds: float = 0.025
    cap_seconds: float = math.inf
    jitter: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, draw: float | None = None) -> float:
        """The pause after attempt `attempt` (0-based); `draw` in [0, 1) is the random part (drawn if None)."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2**attempt)
        fixed = ceiling * (1 - self.jitter)
        return fixed + (ceiling - fixed) * (random.random() if draw is None else draw)

    def pause(self, attempt: int) -> None:
        self.sleep(self.delay(attempt))
