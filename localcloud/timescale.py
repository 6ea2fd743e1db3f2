"""The local cloud's time scale: `LOCALCLOUD_TIME_SCALE` (a float >= 1) compresses waiting, so tests and
demos see a day of upkeep schedules or a payment timeout in seconds.

What it compresses, and how:

- Schedules: `ScaledClock` runs a virtual wall clock `scale` times faster than the real one; a
  `rate(1 minute)` schedule under scale 60 fires every real second, a `cron(...)` fires when the
  virtual clock reaches its next time.
- TTL: the sweep runs `scale` times more often; expiry itself compares with the real clock, which
  the handlers that write the TTL attribute use too.
- Step Functions (moto's ASL interpreter): Wait states, Retry intervals and `.waitForTaskToken` timeouts,
  through the hooks of `localcloud.stepfunctions.time_scale` (that room's docstring says how).
- Elsewhere in the local cloud (`LocalCloud.time_scale`): the Lambda runtime's delays between retries of
  asynchronous invocations, and the payments sandbox's webhook retry intervals.
- Not compressed: SQS visibility timeouts and batching windows, and function timeouts. They
  bound real handler work, which takes as long as it takes.

Scale 1 leaves every duration as AWS has it.
"""

from __future__ import annotations

import datetime
import math
import os
import time
from collections.abc import Mapping

ENV_VAR = "LOCALCLOUD_TIME_SCALE"


class InvalidTimeScale(ValueError):
    """A time scale below 1 (it would slow time down) or not a finite number."""


def time_scale_from_env(environ: Mapping[str, str] | None = None) -> float:
    """LOCALCLOUD_TIME_SCALE as a float >= 1 (1 when unset); anything else is a configuration error."""
    raw = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    if not raw:
        return 1.0
    try:
        scale = float(raw)
    except ValueError:
        raise InvalidTimeScale(f"{ENV_VAR} must be a number >= 1, got {raw!r}") from None
    return validate_time_scale(scale)


def validate_time_scale(scale: float) -> float:
    if not math.isfinite(scale) or scale < 1:
        raise InvalidTimeScale(f"the time scale must be a finite number >= 1, got {scale!r}")
    return float(scale)


class ScaledClock:
    """A virtual UTC wall clock that starts at the real time and runs `scale` times faster."""

    def __init__(self, scale: float) -> None:
        self.scale = validate_time_scale(scale)
        self._origin_wall = time.time()
        self._origin_monotonic = time.monotonic()

    def now(self) -> datetime.datetime:
        elapsed = (time.monotonic() - self._origin_monotonic) * self.scale
        return datetime.datetime.fromtimestamp(self._origin_wall + elapsed, tz=datetime.UTC)

    def real_seconds(self, virtual_seconds: float) -> float:
        """How long `virtual_seconds` of virtual time take in real time."""
        return virtual_seconds / self.scale
