"""Stripe's idempotency layer for POST requests: one execution per `Idempotency-Key`, replayed afterwards.

As Stripe documents it: the first request with a key runs and its status and body are saved (only once
the endpoint has begun executing, so failed validation is not saved); a later request with the same key
and the same endpoint and parameters gets the saved answer; the same key with different parameters is an
`idempotency_error`; a request arriving while the first is still running is told the key is in use (409).
Keys are kept 24 hours.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

DAY_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class SavedResponse:
    status: int
    body: bytes
    request_id: str  # the original request's id, sent back as `Original-Request`


@dataclass(frozen=True)
class Proceed:
    """First use of the key: run the request, then `complete` (or `abandon`) the key."""


@dataclass(frozen=True)
class Replay:
    response: SavedResponse


@dataclass(frozen=True)
class Mismatch:
    """The key was first used with another endpoint or other parameters."""


@dataclass(frozen=True)
class InUse:
    """The first request with this key has not finished yet."""


Outcome = Proceed | Replay | Mismatch | InUse


@dataclass
class _Entry:
    fingerprint: str
    created: float
    response: SavedResponse | None = None


class IdempotencyKeys:
    """Thread-safe store of keys. `clock` is injectable so expiry can be tested without waiting a day."""

    def __init__(self, ttl_seconds: float = DAY_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def begin(self, key: str, fingerprint: str) -> Outcome:
        with self._lock:
            self._expire()
            entry = self._entries.get(key)
            if entry is None:
                self._entries[key] = _Entry(fingerprint, self._clock())
                return Proceed()
            if entry.fingerprint != fingerprint:
                return Mismatch()
            if entry.response is None:
                return InUse()
            return Replay(entry.response)

    def complete(self, key: str, response: SavedResponse) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.response = response

    def abandon(self, key: str) -> None:
        """Forget a key whose request did not execute (validation failed, fault injected): it may be retried."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.response is None:
                del self._entries[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _expire(self) -> None:
        # Entries are in creation order, so the expired ones are all at the front.
        cutoff = self._clock() - self._ttl
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry.created > cutoff:
                return
            del self._entries[key]
