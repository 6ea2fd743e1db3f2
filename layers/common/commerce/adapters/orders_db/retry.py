"""How long to keep retrying a cluster that is resuming: within the function's remaining time, with backoff.

An auto-paused Aurora Serverless v2 instance takes about 15 seconds to resume; the Data API answers
`DatabaseResumingException` meanwhile. A request retries with exponential backoff and jitter while its
budget lasts (the Lambda's remaining time minus a reserve for answering), then gives up with
`OrdersDatabaseResuming`: 503 DATABASE_RESUMING with `Retry-After`, so the client retries later instead
of the function timing out.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from commerce.domain.orders.errors import OrdersDatabaseResuming
from commerce.retry import Backoff


class LambdaContextLike(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class ResumeBackoff:
    first_delay: float = 0.5
    max_delay: float = 5.0
    # A Data API call on a warm cluster takes well under this; not worth sending with less time left.
    min_call_seconds: float = 1.0
    retry_after_seconds: int = 10

    def delay(self, attempt: int, draw: float) -> float:
        """Exponential, capped, with "equal jitter": half fixed, half random (draw in [0, 1))."""
        return Backoff(base_seconds=self.first_delay, cap_seconds=self.max_delay, jitter=0.5).delay(attempt, draw)


@dataclass
class RetryBudget:
    """The time a request may spend waiting for the database, measured from now."""

    seconds: float
    backoff: ResumeBackoff = field(default_factory=ResumeBackoff)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    draw: Callable[[], float] = random.random
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    @classmethod
    def for_lambda(cls, context: LambdaContextLike, reserve_seconds: float = 1.5) -> RetryBudget:
        """The invocation's remaining time minus `reserve_seconds` to answer (and log) before the timeout."""
        return cls(seconds=max(0.0, context.get_remaining_time_in_millis() / 1000 - reserve_seconds))

    def remaining(self) -> float:
        return self.seconds - (self.clock() - self.started)

    def wait_before_retry(self, attempt: int) -> None:
        """Sleep before retry number `attempt` (0-based), or raise OrdersDatabaseResuming when out of time."""
        pause = self.backoff.delay(attempt, self.draw())
        if self.remaining() - pause < self.backoff.min_call_seconds:
            raise OrdersDatabaseResuming(self.backoff.retry_after_seconds)
        self.sleep(pause)
