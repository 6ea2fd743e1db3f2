"""Upkeep: give back the stock of checkouts that were accepted but never processed.

A checkout normally leaves QUEUED within seconds, when its workflow starts. One still QUEUED after its
reservation expired was lost on the way: the function failed between recording and queuing it and the
client never retried, or its message ended in the dead-letter queue. Nobody else will ever release its
reservation, so this job does, on a schedule, a bounded number per run (the rest wait for the next run):

- only if its workflow never started (or started and ended without touching the checkout); a running
  execution owns the checkout, and this job leaves it alone;
- first the checkout is moved on (EXPIRED, or FAILED if its workflow ended), conditionally on the version
  read: if the workflow moved it meanwhile, this job loses and leaves it alone; a workflow that starts
  afterwards finds the checkout final and must not touch the stock;
- then the reservation is released (idempotent).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from commerce.domain.checkout.admission import CheckoutWorkflow
from commerce.domain.checkout.errors import CheckoutChanged
from commerce.domain.checkout.models import CheckoutStatus, Failure, FailureCode
from commerce.domain.checkout.ports import CheckoutRepository
from commerce.domain.inventory.errors import ReservationNotFound
from commerce.domain.inventory.ports import StockLedger
from commerce.domain.inventory.service import release_reservation

NEVER_PROCESSED = "The checkout was not processed before its stock reservation expired; nothing was charged"


class QueuedCheckouts(Protocol):
    def expired_before(self, moment: datetime, limit: int) -> Sequence[str]:
        """Ids of QUEUED checkouts whose reservation expired before `moment`, at most about `limit`, oldest
        first. May lag behind the records (an index): the job re-reads each one."""
        ...


class Outcome(StrEnum):
    RELEASED = "RELEASED"  # moved on and its reservation released by this run
    LEFT = "LEFT"  # no longer QUEUED, not yet expired, or its workflow is running


@dataclass
class UpkeepReport:
    released: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    failed: list[tuple[str, Exception]] = field(default_factory=list)


def release_expired_reservations(
    queued: QueuedCheckouts,
    checkouts: CheckoutRepository,
    ledger: StockLedger,
    workflow: CheckoutWorkflow,
    *,
    now: datetime,
    limit: int,
) -> UpkeepReport:
    report = UpkeepReport()
    for checkout_id in queued.expired_before(now, limit):
        try:
            outcome = release_if_abandoned(checkouts, ledger, workflow, checkout_id, now)
        except Exception as error:  # one broken checkout must not keep the others' stock held
            report.failed.append((checkout_id, error))
            continue
        (report.released if outcome is Outcome.RELEASED else report.left).append(checkout_id)
    return report


def release_if_abandoned(
    checkouts: CheckoutRepository, ledger: StockLedger, workflow: CheckoutWorkflow, checkout_id: str, now: datetime
) -> Outcome:
    checkout = checkouts.get(checkout_id)
    if checkout is None or checkout.status is not CheckoutStatus.QUEUED or checkout.reservation_expires_at > now:
        return Outcome.LEFT
    state = workflow.state(checkout_id)
    if state is None:
        moved = checkout.moved_to(
            CheckoutStatus.EXPIRED, now, failure=Failure(FailureCode.PAYMENT_TIMEOUT, NEVER_PROCESSED)
        )
    elif state.ended:
        failure = Failure(FailureCode.INTERNAL, f"The checkout's workflow ended ({state}) without processing it")
        moved = checkout.moved_to(CheckoutStatus.FAILED, now, failure=failure)
    else:
        return Outcome.LEFT
    try:
        checkouts.replace(moved, expected_version=checkout.version)
    except CheckoutChanged:
        return Outcome.LEFT
    # Not found: nothing is held any more (the reservation item outlived its retention and was deleted).
    with suppress(ReservationNotFound):
        release_reservation(ledger, checkout_id)
    return Outcome.RELEASED
