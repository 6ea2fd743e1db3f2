"""The sandbox's switches: injected provider faults and webhook delivery behaviour.

Both are plain data with one JSON shape, used by the `/_sandbox/` control endpoints, by the
`LOCALCLOUD_PAYMENTS_SWITCHES` environment variable and by the constructor:

    {"faults": [{"kind": "error", "status": 500, "count": 2, "path": "/v1/payment_intents", "method": "POST"}],
     "webhooks": {"paused": false, "duplicates": 0, "out_of_order": false, "lost": 0.0}}

Fault kinds (each applies to the next `count` matching `/v1/` requests, or until cleared when `count` is null):
- `error`: answer `status` (5xx, default 500) with a Stripe `api_error` body; nothing is executed.
- `timeout`: hold the request `seconds`, then answer 504 without executing it (the request was lost).
- `slow`: execute the request, then hold the answer `seconds` (the effect happened; the answer was late).
Held requests are let go early when faults are cleared or the sandbox stops. `seconds` are wall-clock
seconds: `time_scale` compresses webhook retries, not the faults a test asks for.
`path` matches by prefix (`/v1/payment_intents` also matches `/v1/payment_intents/pi_1/confirm`).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, cast

SWITCHES_ENV = "LOCALCLOUD_PAYMENTS_SWITCHES"

FaultKind = Literal["error", "timeout", "slow"]
_KINDS: tuple[FaultKind, ...] = ("error", "timeout", "slow")
_DEFAULT_SECONDS = 30.0


class InvalidSwitches(ValueError):
    """LOCALCLOUD_PAYMENTS_SWITCHES that is not valid JSON or not a valid set of switches (a configuration error)."""


@dataclass(frozen=True)
class FaultSpec:
    kind: FaultKind = "error"
    status: int = 500  # for "error"
    seconds: float = _DEFAULT_SECONDS  # for "timeout" and "slow"
    count: int | None = 1  # None: until cleared
    path: str | None = None  # prefix of the request path; None: every /v1/ path
    method: str | None = None  # "POST", "GET"; None: any

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method.upper():
            return False
        return self.path is None or path.startswith(self.path)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(raw: Any) -> FaultSpec:
        """Validated spec; raises ValueError with a message fit for a 400 answer."""
        if not isinstance(raw, dict):
            raise ValueError("a fault is a JSON object")
        unknown = set(raw) - {"kind", "status", "seconds", "count", "path", "method"}
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        kind = raw.get("kind", "error")
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {list(_KINDS)}")
        status = raw.get("status", 500)
        if not isinstance(status, int) or isinstance(status, bool) or not 500 <= status <= 599:
            raise ValueError("status must be an integer from 500 to 599")
        seconds = raw.get("seconds", _DEFAULT_SECONDS)
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
            raise ValueError("seconds must be a number >= 0")
        count = raw.get("count", 1)
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise ValueError("count must be an integer >= 1, or null for until cleared")
        path = raw.get("path")
        if path is not None and (not isinstance(path, str) or not path.startswith("/")):
            raise ValueError("path must be a string starting with /")
        method = raw.get("method")
        if method is not None and not isinstance(method, str):
            raise ValueError("method must be a string")
        return FaultSpec(
            kind=cast(FaultKind, kind),
            status=status,
            seconds=float(seconds),
            count=count,
            path=path,
            method=method.upper() if method else None,
        )


@dataclass(frozen=True)
class ActiveFault:
    id: str
    spec: FaultSpec
    remaining: int | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, **self.spec.to_json(), "remaining": self.remaining}


class FaultInjector:
    """The active faults, consumed by matching requests in the order they were added."""

    def __init__(self, specs: tuple[FaultSpec, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._faults: list[ActiveFault] = []
        self._ids = itertools.count(1)
        self._released = threading.Event()
        self._injected: Counter[str] = Counter()  # faults met, by kind
        for spec in specs:
            self.add(spec)

    def add(self, spec: FaultSpec) -> ActiveFault:
        with self._lock:
            fault = ActiveFault(f"fault_{next(self._ids)}", spec, spec.count)
            self._faults.append(fault)
            return fault

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            kept = [fault for fault in self._faults if fault.id != fault_id]
            removed = len(kept) != len(self._faults)
            self._faults = kept
            return removed

    def clear(self) -> None:
        """Remove every fault and let go of the requests they are holding."""
        with self._lock:
            self._faults = []
        self.release_holds()

    def release_holds(self) -> None:
        """End every hold in progress now; later holds wait on a fresh event."""
        with self._lock:
            released, self._released = self._released, threading.Event()
        released.set()

    def take(self, method: str, path: str) -> tuple[FaultSpec, threading.Event] | None:
        """The fault this request meets (spending one of its count), with the event that ends a hold early."""
        with self._lock:
            for index, fault in enumerate(self._faults):
                if not fault.spec.matches(method, path):
                    continue
                self._injected[fault.spec.kind] += 1
                if fault.remaining is None:
                    return fault.spec, self._released
                if fault.remaining <= 1:
                    del self._faults[index]
                else:
                    self._faults[index] = replace(fault, remaining=fault.remaining - 1)
                return fault.spec, self._released
            return None

    def active(self) -> list[ActiveFault]:
        with self._lock:
            return list(self._faults)

    def counts(self) -> dict[str, int]:
        """How many requests met a fault since the sandbox started, by kind."""
        with self._lock:
            return dict(self._injected)


@dataclass(frozen=True)
class DeliverySettings:
    paused: bool = False  # hold every delivery until resumed
    duplicates: int = 0  # extra copies of every delivery (same event id)
    out_of_order: bool = False  # deliver each payment intent's events newest first, see webhooks.delivery
    lost: float = 0.0  # probability that a delivery is never sent (nor retried): the receiver must reconcile

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def merged(self, raw: Any) -> DeliverySettings:
        """These settings with the fields given in `raw` changed; raises ValueError for bad input."""
        if not isinstance(raw, dict):
            raise ValueError("webhook settings are a JSON object")
        unknown = set(raw) - {"paused", "duplicates", "out_of_order", "lost"}
        if unknown:
            raise ValueError(f"unknown webhook settings: {sorted(unknown)}")
        paused = raw.get("paused", self.paused)
        out_of_order = raw.get("out_of_order", self.out_of_order)
        duplicates = raw.get("duplicates", self.duplicates)
        lost = raw.get("lost", self.lost)
        if not isinstance(paused, bool) or not isinstance(out_of_order, bool):
            raise ValueError("paused and out_of_order are booleans")
        if not isinstance(duplicates, int) or isinstance(duplicates, bool) or not 0 <= duplicates <= 10:
            raise ValueError("duplicates must be an integer from 0 to 10")
        if not isinstance(lost, int | float) or isinstance(lost, bool) or not 0 <= lost <= 1:
            raise ValueError("lost must be a probability from 0 to 1")
        return DeliverySettings(paused=paused, duplicates=duplicates, out_of_order=out_of_order, lost=float(lost))


@dataclass(frozen=True)
class SandboxSwitches:
    faults: tuple[FaultSpec, ...] = ()
    webhooks: DeliverySettings = field(default_factory=DeliverySettings)

    @staticmethod
    def from_json(raw: Any) -> SandboxSwitches:
        if not isinstance(raw, dict):
            raise ValueError("switches are a JSON object")
        unknown = set(raw) - {"faults", "webhooks"}
        if unknown:
            raise ValueError(f"unknown switches: {sorted(unknown)}")
        faults = raw.get("faults", [])
        if not isinstance(faults, list):
            raise ValueError("faults is a list")
        return SandboxSwitches(
            faults=tuple(FaultSpec.from_json(fault) for fault in faults),
            webhooks=DeliverySettings().merged(raw.get("webhooks", {})),
        )

    @staticmethod
    def from_env(environ: Mapping[str, str]) -> SandboxSwitches:
        raw = environ.get(SWITCHES_ENV, "").strip()
        if not raw:
            return SandboxSwitches()
        try:
            return SandboxSwitches.from_json(json.loads(raw))
        except ValueError as error:  # json.JSONDecodeError is a ValueError too
            raise InvalidSwitches(f"{SWITCHES_ENV}: {error}") from error
