"""Upkeep: give back the stock of checkouts that were accepted but never processed, and of reservations that
outlived their expiry with nobody left to release them.

A checkout normally leaves QUEUED within seconds, when its workflow starts. One still QUEUED after its
reservation expired was lost on the way: the function failed between recording and queuing it and the
client never retried, or its message ended in the dead-letter queue. Nobody else will ever release its
reservation, so this job does, on a schedule, a bounded number per run (the rest wait for the next run):

- only if its workflow never started (or started and ended without touching the checkout); a running
  execution owns the checkout, and this job leaves it alone;
- first the checkout is moved on (EXPIRED, or FAILED if its workflow ended), conditionally on the version
  read: if the workflow moved it meanwhile, this job loses and leaves it alone; a workflow that starts
  afterwards finds the checkout final and must not touch the stock;
- then the reservation is released (idempotent). If that release fails (or the function dies before it),
  the checkout is final and its reservation still held: `release_expired_holds` below retries it.

`release_expired_holds` walks the reservations still held past their expiry (the ledger's index of held
reservations: an entry is written in the reservation's own transaction and removed only by the write that
releases or commits it, so a failed release stays listed and is retried by the next run):

- no checkout recorded under its id: `CreateCheckout` died between reserving and recording (or its record
  write failed and so did its own release). A retry of that request after the expiry refuses the old
  reservation (AttemptAbandoned), so nothing can still use it: released. The reservation TTL (minutes) is
  far above the function's timeout (seconds), so an attempt still running never sees this.
- a final checkout other than COMPLETED (EXPIRED, FAILED, CANCELLED): its compensation, cancel or this
  job's first pass meant to release it and did not get there: released.
- COMPLETED (a completion commits before it marks the checkout), or a checkout still open (its workflow, or
  the reconciliation of open checkouts, owns it): left alone.

Releases give the units back to exactly the shards they came from, once (the ledger's conditional write).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from commerce.domain.checkout.admission import CheckoutWorkflow
from commerce.domain.checkout.errors import CheckoutChanged
from commerce.domain.checkout.models import CheckoutStatus, Failure, FailureCode
from commerce.domain.checkout.ports import CheckoutRepository
from commerce.domain.inventory.errors import ReservationNotFound
from commerce.domain.inventory.models import ReservationStatus
from commerce.domain.inventory.ports import StockLedger
from commerce.domain.inventory.service import release_reservation
from commerce.domain.operations.upkeep import RepairReport, repair_each

NEVER_PROCESSED = "The checkout was not processed before its stock reservation expired; nothing was charged"


class QueuedCheckouts(Protocol):
    def expired_before(self, moment: datetime, limit: int) -> Sequence[str]:
        """Ids of QUEUED checkouts whose reservation expired before `moment`, at most about `limit`, oldest
        first. May lag behind the records (an index): the job re-reads each one."""
        ...


class HeldReservations(Protocol):
    def expired_before(self, moment: datetime, limit: int) -> Sequence[str]:
        """Ids of reservations still held whose expiry is before `moment`, at most about `limit`. May lag
        behind the reservations (an index): the job re-reads each one."""
        ...


class Repair(StrEnum):
    """Kinds of repair, as counted by `ReconciliationRepairs` and listed by GET /admin/upkeep."""

    NEVER_PROCESSED = "reservationsReleased"  # a QUEUED checkout expired, its reservation released
    ORPHANED = "orphanedReservationsReleased"  # a reservation with no checkout record, released
    OF_FINAL_CHECKOUT = "finalCheckoutReservationsReleased"  # a final checkout's reservation, released


def release_expired_reservations(
    queued: QueuedCheckouts,
    checkouts: CheckoutRepository,
    ledger: StockLedger,
    workflow: CheckoutWorkflow,
    *,
    now: datetime,
    limit: int,
) -> RepairReport[Repair]:
    return repair_each(
        queued.expired_before(now, limit),
        (Repair.NEVER_PROCESSED,),
        lambda checkout_id: release_if_abandoned(checkouts, ledger, workflow, checkout_id, now),
    )


def held_past_expiry(ledger: StockLedger, reservation_id: str, now: datetime) -> bool:
    """Whether the reservation still holds units although it expired before `now`."""
    reservation = ledger.get_reservation(reservation_id)
    return (
        reservation is not None and reservation.status is ReservationStatus.RESERVED and reservation.expires_at <= now
    )


def release_expired_holds(
    held: HeldReservations, checkouts: CheckoutRepository, ledger: StockLedger, *, now: datetime, limit: int
) -> RepairReport[Repair]:
    return repair_each(
        held.expired_before(now, limit),
        (Repair.ORPHANED, Repair.OF_FINAL_CHECKOUT),
        lambda reservation_id: release_if_unowned(checkouts, ledger, reservation_id, now),
    )


def release_if_unowned(
    checkouts: CheckoutRepository, ledger: StockLedger, reservation_id: str, now: datetime
) -> Repair | None:
    """Release the expired reservation if nothing will (see the module docstring); the repair made, or None."""
    if not held_past_expiry(ledger, reservation_id, now):
        return None
    checkout = checkouts.get(reservation_id)  # a checkout's reservation id is its checkout id
    if checkout is None:
        repair = Repair.ORPHANED
    elif checkout.status.final and checkout.status is not CheckoutStatus.COMPLETED:
        repair = Repair.OF_FINAL_CHECKOUT
    else:
        return None
    try:
        release_reservation(ledger, reservation_id)
    except ReservationNotFound:
        return None  # deleted meanwhile (past its retention): nothing is held
    return repair


def release_if_abandoned(
    checkouts: CheckoutRepository, ledger: StockLedger, workflow: CheckoutWorkflow, checkout_id: str, now: datetime
) -> Repair | None:
    """Expire (or fail) a QUEUED checkout nobody processed and release its stock; the repair, or None if left
    (no longer QUEUED, not yet expired, or its workflow is running)."""
    checkout = checkouts.get(checkout_id)
    if checkout is None or checkout.status is not CheckoutStatus.QUEUED or checkout.reservation_expires_at > now:
        return None
    state = workflow.state(checkout_id)
    if state is None:
        moved = checkout.moved_to(
            CheckoutStatus.EXPIRED, now, failure=Failure(FailureCode.PAYMENT_TIMEOUT, NEVER_PROCESSED)
        )
    elif state.ended:
        failure = Failure(FailureCode.INTERNAL, f"The checkout's workflow ended ({state}) without processing it")
        moved = checkout.moved_to(CheckoutStatus.FAILED, now, failure=failure)
    else:
        return None
    try:
        checkouts.replace(moved, expected_version=checkout.version)
    except CheckoutChanged:
        return None
    # Not found: nothing is held any more (the reservation item outlived its retention and was deleted).
    with suppress(ReservationNotFound):
        release_reservation(ledger, checkout_id)
    return Repair.NEVER_PROCESSED
