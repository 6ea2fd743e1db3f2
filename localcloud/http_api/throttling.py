"""Stage throttling of an HTTP API: token buckets, as the stage's `DefaultRouteSettings` and `RouteSettings`
configure them.

API Gateway lets a burst of `ThrottlingBurstLimit` requests through at once and refills at
`ThrottlingRateLimit` requests per second; a request that finds the bucket empty gets 429. A route named in
`RouteSettings` (by its route key, "POST /checkouts") has a bucket of its own, which replaces the default
route settings for that route; every other route shares the stage's default bucket.
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


# Where the template loader (localcloud.template.http_apis) puts a stage's RouteSettings inside
# `HttpApi.throttling`, next to the default route settings' limits: under the property's own name.
ROUTE_SETTINGS = "RouteSettings"


class StageThrottle:
    """The stage's buckets: one per route with RouteSettings of its own, and the default one for the rest."""

    def __init__(self, default: TokenBucket | None, routes: dict[str, TokenBucket]) -> None:
        self._default = default
        self._routes = routes

    def admits(self, route_key: str | None) -> bool:
        """Whether a request to the route (None: no route matched) may go on; False means 429."""
        bucket = self._routes.get(route_key, self._default) if route_key is not None else self._default
        return bucket is None or bucket.try_acquire()


def stage_throttle(settings: dict[str, Any] | None, clock: Clock = time.monotonic) -> StageThrottle:
    """The stage's throttle from `HttpApi.throttling`: the default route settings' limits, plus the stage's
    RouteSettings under `ROUTE_SETTINGS` (a route whose settings set no limit is not throttled on its own)."""
    routes: dict[str, TokenBucket] = {}
    for route_key, route_settings in ((settings or {}).get(ROUTE_SETTINGS) or {}).items():
        bucket = bucket_from_route_settings(route_settings, clock)
        if bucket is not None:
            routes[str(route_key)] = bucket
    return StageThrottle(bucket_from_route_settings(settings, clock), routes)


def bucket_from_route_settings(settings: dict[str, Any] | None, clock: Clock = time.monotonic) -> TokenBucket | None:
    """The bucket for one set of route settings, or None when they set no throttling.

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
