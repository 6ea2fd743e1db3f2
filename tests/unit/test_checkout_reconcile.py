"""Reconciling open checkouts whose workflow ended without finishing them, with in-memory fakes: an aborted
execution leaves a checkout AWAITING_PAYMENT, its stock held and its intent payable; the upkeep closes it
(refunding a payment that went through), and leaves alone any checkout whose execution still runs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from commerce.domain.checkout.admission import ExecutionState
from commerce.domain.checkout.models import Checkout, CheckoutStatus
from commerce.domain.checkout.reconcile import TIMED_OUT, Repair, close_abandoned_checkouts, finish_stranded_checkouts
from commerce.domain.checkout.saga import Compensated, compensate_checkout
from commerce.domain.inventory.models import ReservationStatus
from commerce.domain.operations.upkeep import RepairReport
from commerce.domain.orders.models import OrderStatus
from commerce.domain.orders.service import get_order
from commerce.domain.payments.models import PaymentOutcome
from tests.support.fakes.checkout import InMemoryCheckouts, InMemoryCheckoutScan, InMemoryWorkflow
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


class Killed(BaseException):
    """The function's process dying between two writes: no `except Exception` cleanup runs."""


class DiesAtTheStatusWrite(InMemoryCheckouts):
    """The checkouts of `shop`, except that writing a checkout's new status kills the function."""

    def __init__(self, shop: Shop) -> None:
        super().__init__()
        self.records, self.open_checkouts, self.lock = (
            shop.checkouts.records,
            shop.checkouts.open_checkouts,
            shop.checkouts.lock,
        )

    def replace(self, checkout: Checkout, *, expected_version: int) -> Checkout:
        raise Killed()


def compensation_killed_after_the_release(shop: Shop, checkout_id: str) -> None:
    with pytest.raises(Killed):
        compensate_checkout(
            checkout_id=checkout_id,
            error=TIMED_OUT,
            cause=None,
            checkouts=DiesAtTheStatusWrite(shop),
            orders=shop.orders,
            ledger=shop.ledger,
            provider=shop.provider,
            records=shop.records,
            events=shop.events,
            clock=lambda: LATER,
        )


def finish_stranded(shop: Shop, workflow: InMemoryWorkflow, scan: InMemoryCheckoutScan) -> RepairReport[Repair]:
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

    return finish_stranded_checkouts(
        scan, shop.checkouts, shop.ledger, workflow, compensate, now=LATER, limit=10, settle_after=timedelta(0)
    )


def test_a_compensation_killed_after_releasing_the_stock_is_finished_once_by_the_reconciliation() -> None:
    # Given a checkout awaiting payment whose compensation released its stock, then died before the status write
    shop, workflow = Shop(), InMemoryWorkflow()
    checkout_id = awaiting_payment(shop, workflow, ExecutionState.FAILED)  # Step Functions gave up retrying
    compensation_killed_after_the_release(shop, checkout_id)
    stranded = shop.checkouts.get(checkout_id)
    assert stranded is not None
    assert stranded.status is CheckoutStatus.AWAITING_PAYMENT
    reservation = shop.ledger.get_reservation(checkout_id)
    assert reservation is not None
    assert reservation.status is ReservationStatus.RELEASED
    assert shop.ledger.skus["CUP-1"].reserved == 0
    # (the held-reservation pass no longer sees it)
    assert reconcile(shop, workflow).examined == 0
    # When the reconciliation walks the checkouts
    scan = InMemoryCheckoutScan(shop.checkouts)
    report = finish_stranded(shop, workflow, scan)
    # Then it is EXPIRED, its order cancelled, nothing released twice and nothing refunded
    assert report.repaired == {Repair.STRANDED: [checkout_id]}
    finished = shop.checkouts.get(checkout_id)
    assert finished is not None
    assert finished.status is CheckoutStatus.EXPIRED
    assert get_order(shop.orders, finished.order_id).status is OrderStatus.CANCELLED
    assert shop.ledger.skus["CUP-1"].reserved == 0
    assert shop.ledger.skus["CUP-1"].on_hand == 10
    assert shop.provider.refunded() == []
    # And the next walk has nothing left to look at
    assert finish_stranded(shop, workflow, scan).examined == 0


def test_the_walk_leaves_a_running_or_still_held_checkout_alone() -> None:
    # Given a stranded-looking checkout whose execution still runs, and one whose reservation is still held
    shop, workflow = Shop(), InMemoryWorkflow()
    running = awaiting_payment(shop, workflow, ExecutionState.RUNNING)
    compensation_killed_after_the_release(shop, running)
    held = awaiting_payment(shop, workflow, ExecutionState.ABORTED)
    # When the walk runs, Then both are left as they are
    report = finish_stranded(shop, workflow, InMemoryCheckoutScan(shop.checkouts))
    assert sorted(report.left) == sorted([running, held])
    for checkout_id in (running, held):
        stored = shop.checkouts.get(checkout_id)
        assert stored is not None
        assert stored.status is CheckoutStatus.AWAITING_PAYMENT


def test_a_stranded_checkout_whose_repair_failed_is_offered_again() -> None:
    shop, workflow = Shop(), InMemoryWorkflow()
    checkout_id = awaiting_payment(shop, workflow, ExecutionState.FAILED)
    compensation_killed_after_the_release(shop, checkout_id)
    scan = InMemoryCheckoutScan(shop.checkouts)
    scan.save(scan.next_page(LATER, 10), [])  # the walk went past it (as if the repair had failed)
    scan.retry = [checkout_id]
    assert finish_stranded(shop, workflow, scan).repaired == {Repair.STRANDED: [checkout_id]}
