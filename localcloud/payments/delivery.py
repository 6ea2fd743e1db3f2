"""Webhook delivery: signed POSTs of each event to every endpoint listening to it, on one background thread.

Like Stripe, a delivery succeeds on any 2xx answer (redirects are not followed) and is otherwise retried
with exponential backoff (1 s, 2 s, 4 s, ... at most 60 s between attempts, for up to three days), every
interval multiplied by the sandbox's `time_scale`. Each attempt is signed afresh with its own timestamp.

Switches (`DeliverySettings`) change what a receiver sees:
- `paused`: nothing is sent until resumed; the queue keeps growing.
- `duplicates`: every delivery is sent 1 + N times (same event, same id), as Stripe may do.
- `out_of_order`: the events of one payment intent (its own and its charges' and refunds') are held until
  the intent settles (`payment_intent.succeeded`, `.payment_failed`, `.canceled`, `charge.refunded`,
  `refund.failed`), then
  sent newest first; turning the switch off sends whatever is still held, newest first.
- `lost`: each delivery is, with this probability, never sent (a webhook lost for good).
`counts()` says how many deliveries each switch changed (duplicated, lost, reordered).
Every attempt is recorded (`deliveries()`, `GET /_sandbox/webhooks/deliveries`).
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import random
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import requests

from localcloud.payments.endpoints import WebhookEndpoints
from localcloud.payments.ids import new_id
from localcloud.payments.signature import signature_header
from localcloud.payments.switches import DeliverySettings

logger = logging.getLogger(__name__)

SETTLING_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "charge.refunded",
        "refund.failed",
    }
)
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


@dataclass(frozen=True)
class RetryPolicy:
    time_scale: float = 1.0
    first_delay: float = 1.0
    max_delay: float = 60.0
    give_up_after: float = 3 * 24 * 60 * 60

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait after the `failed_attempts`-th failure (1, 2, 3, ...)."""
        return min(self.first_delay * 2 ** (failed_attempts - 1), self.max_delay) * self.time_scale

    def gives_up(self, elapsed: float, failed_attempts: int) -> bool:
        return elapsed + self.delay(failed_attempts) > self.give_up_after * self.time_scale


@dataclass(frozen=True)
class DeliveryAttempt:
    id: str
    event_id: str
    event_type: str
    object_id: str | None  # the payment intent the event belongs to
    endpoint_id: str
    url: str
    attempt: int
    status: int | None  # the receiver's HTTP status, None when it could not be reached
    error: str | None
    succeeded: bool
    at: float  # unix time of the attempt

    def to_json(self) -> dict[str, Any]:
        return {"object": "webhook_delivery", **asdict(self)}


@dataclass(frozen=True)
class _Event:
    id: str
    type: str
    group: str | None
    payload: str


@dataclass
class _Delivery:
    event: _Event
    endpoint_id: str
    first_at: float
    attempt: int = 1


@dataclass(order=True)
class _Scheduled:
    due: float
    seq: int
    delivery: _Delivery = field(compare=False)


def payment_intent_of(event: dict[str, Any]) -> str | None:
    obj = event["data"]["object"]
    if obj.get("object") == "payment_intent":
        return str(obj["id"])
    intent = obj.get("payment_intent")
    return intent if isinstance(intent, str) else None


class WebhookDispatcher:
    def __init__(
        self,
        endpoints: WebhookEndpoints,
        *,
        settings: DeliverySettings | None = None,
        retry: RetryPolicy | None = None,
        timeout_seconds: float = 10.0,
        history: int = 10_000,
    ) -> None:
        self._endpoints = endpoints
        self._settings = settings or DeliverySettings()
        self._retry = retry or RetryPolicy()
        self._timeout = timeout_seconds
        self._cond = threading.Condition()
        self._queue: list[_Scheduled] = []
        self._in_flight = 0  # taken off the queue, attempt not recorded yet
        self._seq = itertools.count()
        self._held: dict[str, list[_Event]] = {}
        self._attempts: deque[DeliveryAttempt] = deque(maxlen=history)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._session: requests.Session | None = None
        self._rng = random.Random()
        self._changed: Counter[str] = Counter()  # deliveries the switches changed: duplicated, lost, reordered

    # -- switches ------------------------------------------------------------------------------------

    @property
    def settings(self) -> DeliverySettings:
        with self._cond:
            return self._settings

    def configure(self, settings: DeliverySettings) -> DeliverySettings:
        with self._cond:
            self._settings = settings
            if not settings.out_of_order:
                for group in list(self._held):
                    self._release_locked(group)
            self._cond.notify_all()
            return settings

    def pause(self) -> DeliverySettings:
        return self.configure(replace(self.settings, paused=True))

    def resume(self) -> DeliverySettings:
        return self.configure(replace(self.settings, paused=False))

    # -- publishing ----------------------------------------------------------------------------------

    def listeners(self, event_type: str) -> int:
        return len(self._endpoints.listening_to(event_type))

    def publish(self, event: dict[str, Any]) -> None:
        """Queue `event` for every endpoint listening to its type (or hold it, when out of order)."""
        item = _Event(
            id=event["id"], type=event["type"], group=payment_intent_of(event), payload=json.dumps(event, indent=2)
        )
        with self._cond:
            if self._settings.out_of_order and item.group is not None:
                self._held.setdefault(item.group, []).append(item)
                if item.type in SETTLING_EVENTS:
                    self._release_locked(item.group)
            else:
                self._enqueue_locked(item)
            self._cond.notify_all()

    def _release_locked(self, group: str) -> None:
        held = self._held.pop(group, [])
        self._changed["reordered"] += max(0, len(held) - 1)
        for item in reversed(held):
            self._enqueue_locked(item)

    def _enqueue_locked(self, item: _Event) -> None:
        now = time.monotonic()
        for endpoint in self._endpoints.listening_to(item.type):
            for copy in range(1 + self._settings.duplicates):
                if self._settings.lost and self._rng.random() < self._settings.lost:
                    self._changed["lost"] += 1
                    continue
                if copy:
                    self._changed["duplicated"] += 1
                delivery = _Delivery(item, endpoint.id, first_at=now)
                heapq.heappush(self._queue, _Scheduled(now, next(self._seq), delivery))

    # -- observing -----------------------------------------------------------------------------------

    def deliveries(self) -> list[DeliveryAttempt]:
        with self._cond:
            return list(self._attempts)

    def counts(self) -> dict[str, int]:
        """Deliveries the switches changed since the dispatcher was made: duplicated, lost, reordered."""
        with self._cond:
            return dict(self._changed)

    def clear_history(self) -> None:
        with self._cond:
            self._attempts.clear()

    def pending(self) -> int:
        """Deliveries waiting to be sent or being sent (including retries), plus events held for out-of-order
        delivery: 0 once every attempt so far has reached its receiver and been recorded."""
        with self._cond:
            return len(self._queue) + self._in_flight + sum(len(items) for items in self._held.values())

    # -- the worker ----------------------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._session = requests.Session()
            self._session.trust_env = False  # deliveries go to local receivers, never through a proxy
            self._thread = threading.Thread(target=self._run, name="payments-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            thread, self._thread = self._thread, None
            self._stopping = True
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=self._timeout + 5)
        if self._session is not None:
            self._session.close()
            self._session = None

    def _run(self) -> None:
        while True:
            with self._cond:
                scheduled = self._next_due_locked()
                if scheduled is None:
                    return
                self._in_flight += 1
            try:
                self._attempt(scheduled.delivery)
            finally:
                with self._cond:
                    self._in_flight -= 1

    def _next_due_locked(self) -> _Scheduled | None:
        while not self._stopping:
            if self._settings.paused or not self._queue:
                self._cond.wait()
                continue
            wait = self._queue[0].due - time.monotonic()
            if wait <= 0:
                return heapq.heappop(self._queue)
            self._cond.wait(wait)
        return None

    def _attempt(self, delivery: _Delivery) -> None:
        endpoint = self._endpoints.get(delivery.endpoint_id)
        session = self._session
        if endpoint is None or session is None:
            return  # the endpoint was deleted, or the dispatcher is stopping
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Stripe-Signature": signature_header(delivery.event.payload, endpoint.secret, timestamp),
        }
        status: int | None = None
        error: str | None = None
        try:
            response = session.post(
                endpoint.url,
                data=delivery.event.payload.encode(),
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            )
            status = response.status_code
            response.close()
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        succeeded = status is not None and 200 <= status < 300
        attempt = DeliveryAttempt(
            id=new_id("wd"),
            event_id=delivery.event.id,
            event_type=delivery.event.type,
            object_id=delivery.event.group,
            endpoint_id=endpoint.id,
            url=endpoint.url,
            attempt=delivery.attempt,
            status=status,
            error=error,
            succeeded=succeeded,
            at=time.time(),
        )
        with self._cond:
            self._attempts.append(attempt)
            if succeeded:
                return
            elapsed = time.monotonic() - delivery.first_at
            if self._retry.gives_up(elapsed, delivery.attempt):
                logger.warning(
                    "webhook %s to %s abandoned after %d attempts", attempt.event_id, endpoint.url, attempt.attempt
                )
                return
            due = time.monotonic() + self._retry.delay(delivery.attempt)
            delivery.attempt += 1
            heapq.heappush(self._queue, _Scheduled(due, next(self._seq), delivery))
        logger.info("webhook %s to %s failed (status %s, %s); retrying", attempt.event_id, endpoint.url, status, error)
