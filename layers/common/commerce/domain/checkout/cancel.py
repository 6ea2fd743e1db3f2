"""The buyer cancels an open checkout (`POST /checkouts/{checkoutId}/cancel`).

In this order, each step safe to repeat:

1. The caller's own checkout (someone else's is 404, as for `GET`); a final one is 409 INVALID_TRANSITION.
2. If it has a payment intent, the payment record's outcome is decided CLOSED first, as compensation does: a
   payment webhook that comes later is refunded. If the payment had already been decided SUCCEEDED, the
   payment won: 409 INVALID_TRANSITION, and the checkout completes.
3. The checkout becomes CANCELLED, written over the version read (a lost race is read and decided again).
   From here on nothing can complete it, and its cart's open-checkout lock is freed (the repository).
4. The undoing, with the saga's own compensation pieces: the intent cancelled (or refunded, if the customer
   paid in the last moment), the stock released, the order cancelled, `CheckoutCancelled` published.
5. The workflow stops waiting: its stored task token is failed with `CheckoutCancelled`, so its Compensate
   step runs, finds the checkout CANCELLED and repeats only what is idempotent. A workflow that had not
   reached the wait yet finds the checkout final at its next step and compensates the same way.

If the function dies after step 3, a retried cancel finds the checkout CANCELLED and repeats 4 and 5 before
answering 409; the workflow's compensation (on its payment timeout at the latest) repeats 4 as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from commerce.domain.checkout.errors import CheckoutChanged, CheckoutNotCancellable
from commerce.domain.checkout.models import Checkout, CheckoutStatus
from commerce.domain.checkout.ports import CheckoutRepository
from commerce.domain.checkout.saga import (
    CANCELLED_BY_BUYER,
    CHECKOUT_CANCELLED,
    CHECKOUT_CANCELLED_ERROR,
    MAX_CHECKOUT_WRITES,
    cancel_order,
    close_payment,
    return_stock,
)
from commerce.domain.checkout.service import get_own_checkout
from commerce.domain.clock import Clock, utc_now
from commerce.domain.inventory.ports import StockLedger
from commerce.domain.orders.models import OrderOwner
from commerce.domain.orders.ports import OrderRepository
from commerce.domain.payments.models import PaymentOutcome
from commerce.domain.payments.ports import DomainEvents, PaymentProvider, PaymentRecords, TaskTokens


@dataclass(frozen=True)
class CancelDeps:
    checkouts: CheckoutRepository
    orders: OrderRepository
    ledger: StockLedger
    provider: PaymentProvider
    records: PaymentRecords
    tasks: TaskTokens
    events: DomainEvents
    clock: Clock = utc_now


def cancel_checkout(deps: CancelDeps, owner: OrderOwner, checkout_id: str) -> Checkout:
    """The caller's checkout, CANCELLED and undone (see the module docstring for the steps)."""
    for _ in range(MAX_CHECKOUT_WRITES):
        checkout = get_own_checkout(deps.checkouts, owner, checkout_id)
        if checkout.status is CheckoutStatus.CANCELLED:
            _undo(deps, checkout)  # a cancel that died part-way is finished by its retry
        if checkout.status.final:
            raise CheckoutNotCancellable(f"Checkout {checkout_id} is {checkout.status}; it cannot be cancelled")
        payment = checkout.payment
        if payment is not None:
            record = deps.records.decide(
                payment.intent_id, checkout.checkout_id, checkout.order_id, PaymentOutcome.CLOSED
            )
            if record.outcome is PaymentOutcome.SUCCEEDED:
                raise CheckoutNotCancellable(f"Checkout {checkout_id} is paid; it completes and cannot be cancelled")
        cancelled = checkout.moved_to(CheckoutStatus.CANCELLED, deps.clock(), failure=CANCELLED_BY_BUYER)
        try:
            deps.checkouts.replace(cancelled, expected_version=checkout.version)
        except CheckoutChanged:
            continue  # the workflow moved it meanwhile (say, to AWAITING_PAYMENT): decide again
        _undo(deps, cancelled)
        return cancelled
    raise CheckoutChanged(f"Checkout {checkout_id} kept changing concurrently; retry")


def _undo(deps: CancelDeps, checkout: Checkout) -> None:
    refunded = close_payment(checkout, deps.provider, deps.records, deps.events) if checkout.payment else False
    return_stock(checkout, deps.ledger, deps.records)
    cancel_order(checkout, deps.orders, CANCELLED_BY_BUYER.code, refunded)
    deps.events.publish(
        CHECKOUT_CANCELLED,
        {"checkoutId": checkout.checkout_id, "orderId": checkout.order_id, "status": checkout.status.value},
    )
    if checkout.payment is not None:
        record = deps.records.get(checkout.payment.intent_id)
        if record is not None and record.task_token is not None:
            # False when the task is not open (not reached yet, or already ended): nothing waits, nothing to stop.
            deps.tasks.fail(record.task_token, CHECKOUT_CANCELLED_ERROR, CANCELLED_BY_BUYER.message)
