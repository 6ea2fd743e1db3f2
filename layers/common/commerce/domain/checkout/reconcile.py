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
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from commerce.domain.checkout.admission import CheckoutWorkflow
from commerce.domain.checkout.errors import PaymentTimedOut
from commerce.domain.checkout.models import CheckoutStatus
from commerce.domain.checkout.ports import CheckoutRepository
from commerce.domain.checkout.saga import Compensated
from commerce.domain.checkout.upkeep import HeldReservations, RepairReport, held_past_expiry, repair_each
from commerce.domain.inventory.ports import StockLedger

# What the compensation is told: the payment was not completed in time (Step Functions' own timeout name).
TIMED_OUT = PaymentTimedOut.STATES_NAME
OPEN = (CheckoutStatus.PROCESSING, CheckoutStatus.AWAITING_PAYMENT)


class Repair(StrEnum):
    """Kinds of repair, as counted by `ReconciliationRepairs` and listed by GET /admin/upkeep."""

    CLOSED = "abandonedCheckoutsClosed"  # nothing was paid: intent cancelled, stock back, checkout EXPIRED
    REFUNDED = "abandonedCheckoutsRefunded"  # the customer had paid: refunded, stock back, checkout EXPIRED


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
        Repair,
        lambda checkout_id: close_if_abandoned(checkouts, ledger, workflow, compensate, checkout_id, now),
    )


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
