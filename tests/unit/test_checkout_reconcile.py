"""Reconciling open checkouts whose workflow ended without finishing them, with in-memory fakes: an aborted
execution leaves a checkout AWAITING_PAYMENT, its stock held and its intent payable; the upkeep closes it
(refunding a payment that went through), and leaves alone any checkout whose execution still runs."""

from __future__ import annotations

from datetime import timedelta

from commerce.domain.checkout.admission import ExecutionState
from commerce.domain.checkout.models import CheckoutStatus
from commerce.domain.checkout.reconcile import Repair, close_abandoned_checkouts
from commerce.domain.checkout.saga import Compensated, compensate_checkout
from commerce.domain.checkout.upkeep import RepairReport
from commerce.domain.orders.models import OrderStatus
from commerce.domain.orders.service import get_order
from commerce.domain.payments.models import PaymentOutcome
from tests.support.fakes.checkout import InMemoryWorkflow
from tests.unit.test_checkout_saga import NOW, Shop

LATER = NOW + timedelta(hours=1)  # past every reservation of Shop.checkout (30 minutes)


def reconcile(shop: Shop, workflow: InMemoryWorkflow, limit: int = 10) -> RepairReport[Repair]:
    def compensate(checkout_id: str, error: str) -> Compensated:
        return compensate_checkout(
            checkout_id=checkout_id,
            error=error,
            cause=None,
            checkouts=shop.checkouts,
            orders=shop.orders,
            ledger=shop.ledger,
            provider=shop.provider,
            records=shop.records,
            events=shop.events,
            clock=lambda: LATER,
        )

    return close_abandoned_checkouts(
        shop.ledger, shop.checkouts, shop.ledger, workflow, compensate, now=LATER, limit=limit
    )


def awaiting_payment(shop: Shop, workflow: InMemoryWorkflow, state: ExecutionState) -> str:
    checkout = shop.checkout(customer_id=f"cust-{len(workflow.executions)}")  # one cart, one open checkout
    workflow.executions[checkout.checkout_id] = state
    shop.request(checkout.checkout_id)
    return checkout.checkout_id


def test_an_aborted_execution_leaves_a_checkout_the_upkeep_closes_once() -> None:
    # Given a checkout awaiting payment whose execution an operator aborted (nothing compensated)
    shop, workflow = Shop(), InMemoryWorkflow()
    checkout_id = awaiting_payment(shop, workflow, ExecutionState.ABORTED)
    assert shop.ledger.skus["CUP-1"].reserved == 2
    # When the upkeep runs past its deadline
    report = reconcile(shop, workflow)
    # Then it is EXPIRED, its stock back, its order cancelled, its payment closed (a late success is refunded)
    assert report.repaired == {Repair.CLOSED: [checkout_id], Repair.REFUNDED: []}
    closed = shop.checkouts.get(checkout_id)
    assert closed is not None
    assert closed.status is CheckoutStatus.EXPIRED
    assert shop.ledger.skus["CUP-1"].reserved == 0
    assert get_order(shop.orders, closed.order_id).status is OrderStatus.CANCELLED
    assert closed.payment is not None
    record = shop.records.get(closed.payment.intent_id)
    assert record is not None
    assert record.outcome is PaymentOutcome.CLOSED
    # And the next run finds nothing to do
    assert reconcile(shop, workflow).examined == 0


def test_a_payment_that_went_through_on_an_aborted_checkout_is_refunded_once() -> None:
    # Given an aborted checkout whose customer paid (the webhook decided SUCCEEDED, nobody completed it)
    shop, workflow = Shop(), InMemoryWorkflow()
    checkout_id = awaiting_payment(shop, workflow, ExecutionState.FAILED)
    stored = shop.checkouts.get(checkout_id)
    assert stored is not None
    assert stored.payment is not None
    shop.provider.pay(stored.payment.intent_id)
    shop.records.decide(stored.payment.intent_id, checkout_id, stored.order_id, PaymentOutcome.SUCCEEDED)
    # When the upkeep runs, twice
    assert reconcile(shop, workflow).repaired[Repair.REFUNDED] == [checkout_id]
    assert reconcile(shop, workflow).examined == 0
    # Then the customer got exactly one refund and the stock is back
    assert shop.provider.refunded() == [stored.payment.intent_id]
    assert shop.ledger.skus["CUP-1"].reserved == 0


def test_a_checkout_whose_execution_still_runs_is_left_to_its_saga() -> None:
    # Given expired checkouts awaiting payment whose executions run (one may still be redriven)
    shop, workflow = Shop(), InMemoryWorkflow()
    running = awaiting_payment(shop, workflow, ExecutionState.RUNNING)
    redrivable = awaiting_payment(shop, workflow, ExecutionState.PENDING_REDRIVE)
    # When the upkeep runs, Then it leaves both as they are
    report = reconcile(shop, workflow)
    assert sorted(report.left) == sorted([running, redrivable])
    for checkout_id in (running, redrivable):
        stored = shop.checkouts.get(checkout_id)
        assert stored is not None
        assert stored.status is CheckoutStatus.AWAITING_PAYMENT
    assert shop.ledger.skus["CUP-1"].reserved == 4
