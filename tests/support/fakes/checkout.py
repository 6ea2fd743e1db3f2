"""In-memory checkouts, checkout queue and workflow with the adapters' semantics, for unit tests and local
experiments (the DynamoDB, SQS and Step Functions adapters implement the same ports)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime

from commerce.domain.checkout.admission import ExecutionState
from commerce.domain.checkout.errors import CartLockTaken, CheckoutChanged
from commerce.domain.checkout.models import Checkout, CheckoutStatus
from commerce.domain.checkout.reconcile import ScanPage
from commerce.domain.clock import rfc3339


class InMemoryCheckouts:
    """`CheckoutRepository` and `QueuedCheckouts` on a dict; one lock makes each call atomic."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.records: dict[str, Checkout] = {}
        self.open_checkouts: dict[str, str] = {}  # cart -> the checkout its lock names

    def create(self, checkout: Checkout, *, replacing: str | None = None) -> Checkout:
        with self.lock:
            stored = self.records.get(checkout.checkout_id)
            if stored is not None:
                return stored
            holder = self.open_checkouts.get(checkout.cart)
            if holder is not None and holder != replacing:
                raise CartLockTaken(holder)
            self.records[checkout.checkout_id] = checkout
            self.open_checkouts[checkout.cart] = checkout.checkout_id
            return checkout

    def get(self, checkout_id: str) -> Checkout | None:
        with self.lock:
            return self.records.get(checkout_id)

    def open_checkout_of(self, cart: str) -> str | None:
        with self.lock:
            return self.open_checkouts.get(cart)

    def replace(self, checkout: Checkout, *, expected_version: int) -> Checkout:
        with self.lock:
            stored = self.records.get(checkout.checkout_id)
            if stored is None or stored.version != expected_version:
                raise CheckoutChanged(f"checkout {checkout.checkout_id} changed concurrently")
            self.records[checkout.checkout_id] = checkout
            if checkout.status.final and self.open_checkouts.get(checkout.cart) == checkout.checkout_id:
                del self.open_checkouts[checkout.cart]
            return checkout

    def expired_before(self, moment: datetime, limit: int) -> Sequence[str]:
        with self.lock:
            expired = sorted(
                (c.reservation_expires_at, c.checkout_id)
                for c in self.records.values()
                if c.status is CheckoutStatus.QUEUED and c.reservation_expires_at < moment
            )
        return [checkout_id for _, checkout_id in expired[:limit]]


class InMemoryCheckoutQueue:
    """`CheckoutQueue` as a list of the checkout ids sent, in order (duplicates kept, as SQS keeps them)."""

    def __init__(self, depth: int = 0) -> None:
        self.waiting = depth  # messages that were there before this test's
        self.sent: list[str] = []

    def depth(self) -> int:
        return self.waiting + len(self.sent)

    def enqueue(self, checkout_id: str) -> None:
        self.sent.append(checkout_id)


class InMemoryWorkflow:
    """`CheckoutWorkflow` as named executions; a name is used once, as in Step Functions."""

    def __init__(self) -> None:
        self.executions: dict[str, ExecutionState] = {}
        self.starts: list[str] = []  # every start asked for, including those that found an execution

    def start(self, checkout_id: str) -> bool:
        self.starts.append(checkout_id)
        if checkout_id in self.executions:
            return False
        self.executions[checkout_id] = ExecutionState.RUNNING
        return True

    def state(self, checkout_id: str) -> ExecutionState | None:
        return self.executions.get(checkout_id)


class InMemoryCheckoutScan:
    """`CheckoutScan` over `InMemoryCheckouts`: open checkouts by (createdAt, id), the position kept in memory."""

    def __init__(self, checkouts: InMemoryCheckouts) -> None:
        self.checkouts = checkouts
        self.after = ""  # "<createdAt>#<id>" of the last checkout examined
        self.retry: list[str] = []

    def next_page(self, created_before: datetime, limit: int) -> ScanPage:
        with self.checkouts.lock:
            walk = sorted(
                (f"{rfc3339(c.created_at)}#{c.checkout_id}", c)
                for c in self.checkouts.records.values()
                if c.created_at < created_before
            )
        read = [(position, c) for position, c in walk if position > self.after][:limit]
        end = read[-1][0] if len(read) == limit else f"{rfc3339(created_before)}"
        opened = [
            c.checkout_id for _, c in read if c.status in (CheckoutStatus.PROCESSING, CheckoutStatus.AWAITING_PAYMENT)
        ]
        return ScanPage(list(dict.fromkeys(self.retry + opened)), max(end, self.after))

    def save(self, page: ScanPage, failed: Sequence[str]) -> None:
        self.after = page.cursor
        self.retry = list(failed)
