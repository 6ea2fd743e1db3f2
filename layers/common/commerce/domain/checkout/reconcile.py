"""Upkeep: finish checkouts left open past their deadline because their workflow ended without finishing
them (an operator aborted the execution, or Compensate exhausted its retries).

Such a checkout is PROCESSING or AWAITING_PAYMENT while its reservation is still held past its expiry: it is
found through the ledger's index of held reservations (no scan), a bounded number per run. For each one:

- its execution is looked up; a running one (or one an operator may still redrive) owns the checkout, and
  this job leaves it alone: it is safe beside a running saga;
- otherwise it is compensated exactly as the workflow's own payment timeout would (saga.compensate_checkout):
  the payment record decided CLOSED, the intent cancelled, or refunded if the customer paid (its refund
  key is per payment, so a repeat refunds nothing more), the stock released, the order cancelled, the
  checkout EXPIRED. A webhook that arrives later finds the payment CLOSED and refunds it.

Every step is idempotent, so a run that dies midway is finished by the next.

A compensation that died after releasing the stock and before the checkout's status write leaves an open
checkout whose reservation is no longer held, so the index above no longer lists it ("stranded").
`finish_stranded_checkouts` finds those by walking every checkout by creation time (the operators' listing,
GSI3), a bounded page per run from a cursor kept between runs, up to `settle_after` ago: a checkout created
earlier than that has had its payment timeout and its compensation's retries, so one still open then is
stranded for good. It is compensated again exactly as above, which does only what is left: the payment record
is CLOSED already (nothing refunds twice), the release finds the reservation RELEASED and changes nothing (its
conditional write flips RESERVED to RELEASED once), the order is cancelled and the checkout EXPIRED. One
whose execution still runs, or whose reservation is still held (the pass above owns it), is left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from commerce.domain.checkout.admission import CheckoutWorkflow
from commerce.domain.checkout.errors import PaymentTimedOut
from commerce.domain.checkout.models import CheckoutStatus
from commerce.domain.checkout.ports import CheckoutRepository
from commerce.domain.checkout.saga import Compensated
from commerce.domain.checkout.upkeep import HeldReservations, held_past_expiry
from commerce.domain.inventory.models import ReservationStatus
from commerce.domain.inventory.ports import StockLedger
from commerce.domain.operations.upkeep import RepairReport, repair_each

# What the compensation is told: the payment was not completed in time (Step Functions' own timeout name).
TIMED_OUT = PaymentTimedOut.STATES_NAME
OPEN = (CheckoutStatus.PROCESSING, CheckoutStatus.AWAITING_PAYMENT)


class Repair(StrEnum):
    """Kinds of repair, as counted by `ReconciliationRepairs` and listed by GET /admin/upkeep."""

    CLOSED = "abandonedCheckoutsClosed"  # nothing was paid: intent cancelled, stock back, checkout EXPIRED
    REFUNDED = "abandonedCheckoutsRefunded"  # the customer had paid: refunded, stock back, checkout EXPIRED
    STRANDED = "strandedCheckoutsFinished"  # stock released, then the compensation died: finished


@dataclass(frozen=True)
class ScanPage:
    """Checkouts to look at (a page of the walk by creation time, plus those that failed last time) and the
    opaque position the walk continues from once they are handled."""

    checkout_ids: Sequence[str]
    cursor: str


class CheckoutScan(Protocol):
    def next_page(self, created_before: datetime, limit: int) -> ScanPage:
        """About `limit` open (PROCESSING, AWAITING_PAYMENT) checkouts created before `created_before`, from
        where the last saved page ended, oldest first; may lag behind the records (an index)."""
        ...

    def save(self, page: ScanPage, failed: Sequence[str]) -> None:
        """The page is handled: the walk continues after it, and `failed` are offered again next time."""
        ...


Compensate = Callable[[str, str], Compensated]  # (checkout id, the error Step Functions would name) -> what it did


def close_abandoned_checkouts(
    held: HeldReservations,
    checkouts: CheckoutRepository,
    ledger: StockLedger,
    workflow: CheckoutWorkflow,
    compensate: Compensate,
    *,
    now: datetime,
    limit: int,
) -> RepairReport[Repair]:
    return repair_each(
        held.expired_before(now, limit),
        (Repair.CLOSED, Repair.REFUNDED),
        lambda checkout_id: close_if_abandoned(checkouts, ledger, workflow, compensate, checkout_id, now),
    )


def finish_stranded_checkouts(
    scan: CheckoutScan,
    checkouts: CheckoutRepository,
    ledger: StockLedger,
    workflow: CheckoutWorkflow,
    compensate: Compensate,
    *,
    now: datetime,
    limit: int,
    settle_after: timedelta,
) -> RepairReport[Repair]:
    page = scan.next_page(now - settle_after, limit)
    report = repair_each(
        page.checkout_ids,
        (Repair.STRANDED,),
        lambda checkout_id: finish_if_stranded(checkouts, ledger, workflow, compensate, checkout_id, now),
    )
    # Saved only now: a run that dies midway walks the same page again (every step is idempotent).
    scan.save(page, [checkout_id for checkout_id, _ in report.failed])
    return report


def finish_if_stranded(
    checkouts: CheckoutRepository,
    ledger: StockLedger,
    workflow: CheckoutWorkflow,
    compensate: Compensate,
    checkout_id: str,
    now: datetime,
) -> Repair | None:
    checkout = checkouts.get(checkout_id)
    if checkout is None or checkout.status not in OPEN or checkout.reservation_expires_at > now:
        return None
    reservation = ledger.get_reservation(checkout_id)
    if reservation is not None and reservation.status is ReservationStatus.RESERVED:
        return None  # still held: close_abandoned_checkouts' (or its saga's)
    state = workflow.state(checkout_id)
    if state is not None and not state.ended:
        return None  # its execution still runs: the saga owns the checkout
    compensate(checkout_id, TIMED_OUT)
    return Repair.STRANDED


def close_if_abandoned(
    checkouts: CheckoutRepository,
    ledger: StockLedger,
    workflow: CheckoutWorkflow,
    compensate: Compensate,
    checkout_id: str,
    now: datetime,
) -> Repair | None:
    if not held_past_expiry(ledger, checkout_id, now):
        return None
    checkout = checkouts.get(checkout_id)
    if checkout is None or checkout.status not in OPEN:
        return None  # never recorded, QUEUED or final: the reservation upkeep's (upkeep.py)
    state = workflow.state(checkout_id)
    if state is not None and not state.ended:
        return None  # its execution still runs (or may be redriven): the saga owns the checkout
    compensated = compensate(checkout_id, TIMED_OUT)
    return Repair.REFUNDED if compensated.refunded else Repair.CLOSED
