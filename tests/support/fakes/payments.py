"""In-memory payments with the adapters' semantics, for unit tests and local experiments: payment records
(outcome decided once, restock once), a provider that keeps Stripe's idempotency rules, task tokens that
close like Step Functions', the event bus and the webhook log. One lock makes each call atomic."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from commerce.domain.clock import Clock, utc_now
from commerce.domain.events import versioned
from commerce.domain.inventory.errors import StockInconsistent
from commerce.domain.inventory.models import ReservationLine
from commerce.domain.money import Money
from commerce.domain.payments.errors import PaymentProviderRejected, RefundRejected
from commerce.domain.payments.models import IntentState, PaymentIntent, PaymentOutcome, PaymentRecord, Refund
from tests.support.event_schemas import check_detail
from tests.support.fakes.inventory import InMemoryStockLedger


class InMemoryPaymentRecords:
    """`PaymentRecords`, and `ClosedIntents` over them; restocks go to `ledger`'s SKU records."""

    def __init__(self, ledger: InMemoryStockLedger | None = None, clock: Clock = utc_now) -> None:
        self.lock = threading.RLock()
        self.records: dict[str, PaymentRecord] = {}
        self.ledger = ledger
        self.clock = clock
        self.closed_at: dict[str, datetime] = {}  # the records awaiting their intent's cancel, by decision time

    def get(self, intent_id: str) -> PaymentRecord | None:
        with self.lock:
            return self.records.get(intent_id)

    def store_task(self, intent_id: str, checkout_id: str, order_id: str, task_token: str) -> PaymentRecord:
        with self.lock:
            record = replace(self._record(intent_id, checkout_id, order_id), task_token=task_token)
            self.records[intent_id] = record
            return record

    def decide(self, intent_id: str, checkout_id: str, order_id: str, outcome: PaymentOutcome) -> PaymentRecord:
        with self.lock:
            record = self._record(intent_id, checkout_id, order_id)
            closing = outcome is PaymentOutcome.CLOSED and record.outcome in (None, PaymentOutcome.DECLINED)
            if record.outcome is None or closing:
                record = replace(record, outcome=record.outcome or outcome, awaiting_cancel=closing)
                self.records[intent_id] = record
                if closing:
                    self.closed_at[intent_id] = self.clock()
            return record

    def record_refund(self, intent_id: str, checkout_id: str, order_id: str, refund: Refund) -> None:
        with self.lock:
            record = self._record(intent_id, checkout_id, order_id)
            self.records[intent_id] = replace(
                record, refunded=True, refund_id=refund.refund_id or record.refund_id, awaiting_cancel=False
            )
            self.closed_at.pop(intent_id, None)

    def intent_closed(self, intent_id: str) -> None:
        with self.lock:
            record = self.records.get(intent_id)
            if record is not None:
                self.records[intent_id] = replace(record, awaiting_cancel=False)
            self.closed_at.pop(intent_id, None)

    def closed_before(self, moment: datetime, limit: int) -> list[str]:
        with self.lock:
            listed = sorted((at, intent_id) for intent_id, at in self.closed_at.items() if at < moment)
            return [intent_id for _, intent_id in listed[:limit]]

    def restock(self, intent_id: str, checkout_id: str, order_id: str, lines: Sequence[ReservationLine]) -> bool:
        with self.lock:
            record = self._record(intent_id, checkout_id, order_id)
            if record.restocked:
                return False
            if self.ledger is not None:
                with self.ledger.lock:
                    if any(line.sku not in self.ledger.skus for line in lines):
                        raise StockInconsistent(f"A SKU of order {order_id} no longer exists; nothing restocked")
                    for line in lines:
                        self.ledger.skus[line.sku].on_hand += line.quantity
            self.records[intent_id] = replace(record, restocked=True)
            return True

    def _record(self, intent_id: str, checkout_id: str, order_id: str) -> PaymentRecord:
        return self.records.get(intent_id) or PaymentRecord(intent_id, checkout_id, order_id)


@dataclass
class Intent:
    intent_id: str
    amount: Money
    metadata: dict[str, str]
    status: str = "requires_payment_method"  # succeeded, canceled
    refunded: bool = False


@dataclass
class InMemoryPaymentProvider:
    """`PaymentProvider` with Stripe's rules: an idempotency key replays its first answer (and refuses other
    parameters), a paid intent cannot be cancelled, a charge is refunded at most once. `failures` are raised,
    in order, by the next calls (a provider that is down, then recovers)."""

    intents: dict[str, Intent] = field(default_factory=dict)
    answers: dict[str, tuple[tuple[Any, ...], Any]] = field(default_factory=dict)  # idempotency key -> (params, answer)
    failures: list[Exception] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def create_intent(self, amount: Money, metadata: Mapping[str, str], idempotency_key: str) -> PaymentIntent:
        with self.lock:
            self._call("create_intent")
            params = ("create_intent", amount, tuple(sorted(metadata.items())))

            def create() -> PaymentIntent:
                intent = Intent(f"pi_{next(self._ids)}", amount, dict(metadata))
                self.intents[intent.intent_id] = intent
                return PaymentIntent(intent.intent_id, f"{intent.intent_id}_secret_test", amount)

            answer: PaymentIntent = self._idempotent(idempotency_key, params, create)
            return answer

    def cancel_intent(self, intent_id: str) -> IntentState:
        with self.lock:
            self._call("cancel_intent")
            intent = self.intents[intent_id]
            if intent.status == "succeeded":
                return IntentState.SUCCEEDED
            intent.status = "canceled"
            return IntentState.CANCELED

    def refund(self, intent_id: str, metadata: Mapping[str, str], idempotency_key: str) -> Refund:
        with self.lock:
            self._call("refund")
            params = ("refund", intent_id, tuple(sorted(metadata.items())))

            def refund() -> Refund:
                intent = self.intents[intent_id]
                if intent.status != "succeeded":
                    raise RefundRejected(f"{intent_id} has no successful charge to refund", "charge_not_refundable")
                if intent.refunded:
                    return Refund(None, intent_id)
                intent.refunded = True
                return Refund(f"re_{next(self._ids)}", intent_id)

            answer: Refund = self._idempotent(idempotency_key, params, refund)
            return answer

    # -- the customer's side -----------------------------------------------------------------------------

    def pay(self, intent_id: str) -> None:
        with self.lock:
            intent = self.intents[intent_id]
            if intent.status != "requires_payment_method":
                raise PaymentProviderRejected(f"{intent_id} is {intent.status}")
            intent.status = "succeeded"

    def refunded(self) -> list[str]:
        with self.lock:
            return [intent.intent_id for intent in self.intents.values() if intent.refunded]

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.failures:
            raise self.failures.pop(0)

    def _idempotent(self, key: str, params: tuple[Any, ...], run: Any) -> Any:
        saved = self.answers.get(key)
        if saved is not None:
            if saved[0] != params:
                raise PaymentProviderRejected(f"idempotency key {key} was used with other parameters")
            return saved[1]
        answer = run()
        self.answers[key] = (params, answer)
        return answer


@dataclass
class TaskOutcome:
    token: str
    succeeded: bool
    output: Mapping[str, Any] | None = None
    error: str | None = None
    cause: str | None = None


class InMemoryTaskTokens:
    """`TaskTokens`: a token is open from `open()` until its first outcome (or `close()`, a timeout)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.opened: set[str] = set()
        self.outcomes: list[TaskOutcome] = []
        self._ids = itertools.count(1)

    def open(self) -> str:
        with self.lock:
            token = f"token-{next(self._ids)}"
            self.opened.add(token)
            return token

    def close(self, token: str) -> None:
        with self.lock:
            self.opened.discard(token)

    def succeed(self, task_token: str, output: Mapping[str, Any]) -> bool:
        return self._settle(TaskOutcome(task_token, True, output=dict(output)))

    def fail(self, task_token: str, error: str, cause: str) -> bool:
        return self._settle(TaskOutcome(task_token, False, error=error, cause=cause))

    def _settle(self, outcome: TaskOutcome) -> bool:
        with self.lock:
            if outcome.token not in self.opened:
                return False
            self.opened.discard(outcome.token)
            self.outcomes.append(outcome)
            return True


@dataclass(frozen=True)
class Published:
    detail_type: str
    detail: Mapping[str, Any]


class InMemoryEvents:
    """`DomainEvents` that keeps what was published, in order, each checked against its schema as the adapter
    would publish it (events/schemas/)."""

    def __init__(self) -> None:
        self.published: list[Published] = []

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        check_detail(detail_type, versioned(detail_type, detail))
        self.published.append(Published(detail_type, dict(detail)))

    def types(self) -> list[str]:
        return [event.detail_type for event in self.published]


class InMemoryWebhookLog:
    """`WebhookLog` on a set of event ids."""

    def __init__(self) -> None:
        self.events: dict[str, str] = {}

    def seen(self, event_id: str) -> bool:
        return event_id in self.events

    def remember(self, event_id: str, event_type: str) -> None:
        self.events.setdefault(event_id, event_type)
