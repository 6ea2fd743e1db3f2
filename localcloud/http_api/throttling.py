"""Stage throttling of an HTTP API: one token bucket per API, as `DefaultRouteSettings` configures it.

API Gateway lets a burst of `ThrottlingBurstLimit` requests through at once and refills at
`ThrottlingRateLimit` requests per second; a request that finds the bucket empty gets 429.
The clock is injected so tests can move time instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

Clock = Callable[[], float]


class TokenBucket:
    """A thread-safe token bucket that starts full."""

    def __init__(self, *, burst: float, rate_per_second: float, clock: Clock = time.monotonic) -> None:
        if burst < 0 or rate_per_second < 0:
            raise ValueError("burst and rate must not be negative")
        self._capacity = float(burst)
        self._rate = float(rate_per_second)
        self._clock = clock
        self._tokens = self._capacity
        self._last = clock()
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        """Take one token if there is one; False means the request is throttled."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._last)
            self._last = now
            self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


# API Gateway's account-level limits, which apply where a stage leaves a limit unset.
ACCOUNT_RATE_LIMIT = 10_000.0
ACCOUNT_BURST_LIMIT = 5_000.0


def bucket_from_route_settings(settings: dict[str, Any] | None, clock: Clock = time.monotonic) -> TokenBucket | None:
    """The bucket for `DefaultRouteSettings`, or None when the template sets no throttling.

    Template parameters may arrive as strings ("500"), so values are converted here.
    """
    if not settings:
        return None
    burst = settings.get("ThrottlingBurstLimit")
    rate = settings.get("ThrottlingRateLimit")
    if burst is None and rate is None:
        return None
    return TokenBucket(
        burst=float(burst) if burst is not None else ACCOUNT_BURST_LIMIT,
        rate_per_second=float(rate) if rate is not None else ACCOUNT_RATE_LIMIT,
        clock=clock,
    )
