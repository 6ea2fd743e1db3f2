"""POST /admin/orders/{orderId}/refund and /cancel on orders paid through the real workflow functions, against
moto, the orders database and the payments sandbox: the provider refunds once, the order moves, the stock goes
back only when nothing shipped, and every refusal answers problem+json and changes nothing."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from commerce.adapters.payments import StripePayments
from commerce.domain.orders.errors import InvalidTransition
from commerce.domain.orders.fulfilments import fulfill_order
from commerce.domain.orders.models import OrderStatus
from commerce.domain.payments.models import Refund
from localcloud.payments import FaultSpec
from tests.support.checkout_saga import Answer, Payments
from tests.support.handlers import load_handler
from tests.support.lambda_events import FakeLambdaContext, load_event

pytestmark = pytest.mark.integration

CUSTOMER = {"sub": "c-1a2b3c", "cognito:groups": "[customers]", "token_use": "access"}


def paid_order(payments: Payments, quantity: int = 2) -> tuple[str, str, str]:
    """A checkout taken through the workflow's functions to COMPLETED: (order id, intent id, sku)."""
    sku = payments.sku(on_hand=10)
    checkout = payments.checkout((sku, quantity))
    payments.request_payment(checkout.checkout_id)
    assert payments.pay(checkout.checkout_id).ok
    payment = payments.stored(checkout.checkout_id).payment
    assert payment is not None
    [succeeded] = payments.deliveries(payment.intent_id, 1)
    assert payments.deliver(succeeded).status == 200
    payments.task("complete_checkout", checkoutId=checkout.checkout_id, payment={"intentId": payment.intent_id})
    assert payments.order_status(checkout.order_id) is OrderStatus.PAID
    return checkout.order_id, payment.intent_id, sku


def refused(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status, answer.body
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.code == code


def test_refunding_a_paid_order_refunds_the_payment_and_returns_the_stock_once(payments: Payments) -> None:
    # Given a paid order of 2 units (on-hand 10 -> 8)
    order_id, intent_id, sku = paid_order(payments)
    assert payments.stock(sku).on_hand == 8
    # When an operator refunds it
    answer = payments.operator("refund_order", {"orderId": order_id})
    # Then 200 with the order REFUNDED, its event naming the refund; the provider refunded the whole charge
    assert answer.status == 200, answer.body
    assert answer.body["status"] == "REFUNDED"
    event = answer.body["events"][-1]
    assert event["type"] == "OrderRefunded"
    assert event["detail"]["intentId"] == intent_id
    assert event["detail"]["refundId"].startswith("re_")
    assert event["detail"]["actor"] == "operator:op-7d8e9f10"
    assert payments.refunds_of(intent_id) == 2400
    # And the 2 units are back on the shelf
    assert (payments.stock(sku).on_hand, payments.stock(sku).available) == (10, 10)
    # When the operator refunds it again, Then 409 and nothing more is refunded or restocked
    refused(payments.operator("refund_order", {"orderId": order_id}), 409, "INVALID_TRANSITION")
    assert payments.refunds_of(intent_id) == 2400
    assert payments.stock(sku).on_hand == 10


def test_refunding_a_fulfilled_order_keeps_the_shipped_units_out_of_stock(payments: Payments) -> None:
    # Given a paid order that shipped
    order_id, intent_id, sku = paid_order(payments)
    fulfill_order(payments.orders, order_id, actor="operator:op-1")
    # When it is refunded, Then the money goes back, the stock does not
    answer = payments.operator("refund_order", {"orderId": order_id})
    assert answer.status == 200, answer.body
    assert answer.body["status"] == "REFUNDED"
    assert payments.refunds_of(intent_id) == 2400
    assert payments.stock(sku).on_hand == 8


def test_cancelling_a_paid_order_refunds_it(payments: Payments) -> None:
    # Given a paid order
    order_id, intent_id, sku = paid_order(payments, quantity=1)
    # When an operator cancels it, Then it is CANCELLED, refunded and its unit is back
    answer = payments.operator("cancel_order", {"orderId": order_id})
    assert answer.status == 200, answer.body
    assert answer.body["status"] == "CANCELLED"
    assert answer.body["events"][-1]["detail"]["intentId"] == intent_id
    assert payments.refunds_of(intent_id) == 1200
    assert payments.stock(sku).on_hand == 10


def test_an_unpaid_order_cannot_be_refunded_but_can_be_cancelled(payments: Payments) -> None:
    # Given an order still waiting for its payment
    checkout = payments.checkout((payments.sku(), 1))
    payments.request_payment(checkout.checkout_id)
    # When an operator refunds it, Then 409 and it stays PENDING_PAYMENT
    refused(payments.operator("refund_order", {"orderId": checkout.order_id}), 409, "INVALID_TRANSITION")
    assert payments.order_status(checkout.order_id) is OrderStatus.PENDING_PAYMENT
    # When the operator cancels it instead, Then it is CANCELLED
    answer = payments.operator("cancel_order", {"orderId": checkout.order_id})
    assert answer.status == 200, answer.body
    assert answer.body["status"] == "CANCELLED"


def test_a_provider_outage_moves_no_money_and_a_retry_refunds_once(payments: Payments) -> None:
    # Given a paid order and a provider failing every refund request for now
    order_id, intent_id, sku = paid_order(payments)
    fault = payments.served.sandbox.faults.add(FaultSpec(kind="error", status=503, count=None, path="/v1/refunds"))
    try:
        # When an operator refunds or cancels it, Then 503 with Retry-After, no money moved, no stock moved; the
        # order waits REFUND_PENDING for a retry (or the upkeep)
        for function in ("refund_order", "cancel_order"):
            answer = payments.operator(function, {"orderId": order_id})
            refused(answer, 503, "PAYMENT_PROVIDER_UNAVAILABLE")
            assert int(answer.headers["Retry-After"]) > 0
        assert payments.order_status(order_id) is OrderStatus.REFUND_PENDING
        assert payments.refunds_of(intent_id) == 0
        assert payments.stock(sku).on_hand == 8
    finally:
        payments.served.sandbox.faults.remove(fault.id)
    # When the operator retries once the provider is back, Then it is refunded, once
    assert payments.operator("refund_order", {"orderId": order_id}).status == 200
    assert payments.refunds_of(intent_id) == 2400
    assert payments.stock(sku).on_hand == 10


@pytest.mark.parametrize(("claims", "status", "code"), [({"sub": "x"}, 403, "FORBIDDEN"), (CUSTOMER, 403, "FORBIDDEN")])
def test_only_operators_refund(payments: Payments, claims: dict[str, str], status: int, code: str) -> None:
    # Given a paid order, When a non-operator asks for a refund, Then 403 and nothing is refunded
    order_id, intent_id, _ = paid_order(payments, quantity=1)
    refused(payments.operator("refund_order", {"orderId": order_id}, claims=claims), status, code)
    assert payments.refunds_of(intent_id) == 0
    assert payments.order_status(order_id) is OrderStatus.PAID


@pytest.mark.parametrize("order_id", ["nope", "00000000-0000-4000-8000-000000000000"])
def test_refunding_an_unknown_order_is_404(payments: Payments, order_id: str) -> None:
    refused(payments.operator("refund_order", {"orderId": order_id}), 404, "NOT_FOUND")


def race(*steps: Callable[[], object]) -> list[object]:
    """Run `steps` at once (threads released together); each one's result, or the error it raised."""
    barrier = threading.Barrier(len(steps))
    results: list[object] = [None] * len(steps)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = steps[index]()
        except Exception as error:  # the race's loser: kept, and asserted on by the test
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(steps))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def fulfil(payments: Payments, order_id: str) -> Callable[[], object]:
    return lambda: fulfill_order(payments.orders, order_id, actor="operator:warehouse")


def operator(payments: Payments, function: str, order_id: str) -> Callable[[], object]:
    return lambda: payments.operator(function, {"orderId": order_id})


@pytest.mark.parametrize("function", ["refund_order", "cancel_order"])
def test_a_fulfil_racing_a_refund_never_leaves_money_back_on_a_fulfilled_order(
    payments: Payments, function: str
) -> None:
    for _ in range(4):
        # Given a paid order, When a fulfil and an operator's refund (or cancel) of it race
        order_id, intent_id, sku = paid_order(payments)
        fulfilled, answer = race(fulfil(payments, order_id), operator(payments, function, order_id))
        assert isinstance(answer, Answer)
        status = payments.order_status(order_id)
        # Then money went back exactly when the order says so, once; and the stock only if nothing shipped
        if status is OrderStatus.FULFILLED:
            assert isinstance(fulfilled, InvalidTransition) is False
            refused(answer, 409, "INVALID_TRANSITION")  # only a cancel loses to a fulfil
            assert (function, payments.refunds_of(intent_id), payments.stock(sku).on_hand) == ("cancel_order", 0, 8)
        else:
            assert answer.status == 200, answer.body
            assert status is (OrderStatus.REFUNDED if function == "refund_order" else OrderStatus.CANCELLED)
            assert payments.refunds_of(intent_id) == 2400
            shipped = not isinstance(fulfilled, InvalidTransition)
            assert payments.stock(sku).on_hand == (8 if shipped else 10)


def test_two_racing_refunds_refund_once(payments: Payments) -> None:
    for _ in range(3):
        # Given a paid order, When two operators refund it at once
        order_id, intent_id, sku = paid_order(payments)
        answers = race(*(operator(payments, "refund_order", order_id) for _ in range(2)))
        # Then it is REFUNDED, the money went back once, the units came back once
        statuses = sorted(answer.status for answer in answers if isinstance(answer, Answer))
        assert statuses in ([200, 200], [200, 409]), answers
        assert payments.order_status(order_id) is OrderStatus.REFUNDED
        assert payments.refunds_of(intent_id) == 2400
        assert payments.stock(sku).on_hand == 10


class SandboxRecycled(BaseException):
    """The function's sandbox dying mid-invocation: nothing below the handler catches it, as nothing survives it."""


@pytest.fixture
def upkeep(payments: Payments, monkeypatch: pytest.MonkeyPatch) -> Callable[[], dict[str, Any]]:
    """The 5-minute upkeep (ReconcileCheckoutsFunction), invoked as Lambda runs it."""
    monkeypatch.setenv("RESERVATION_UPKEEP_MAX_PER_RUN", "16")
    monkeypatch.setenv("PAYMENT_TIMEOUT_SECONDS", "900")
    load_handler("reconcile_checkouts", fresh=True)
    app = sys.modules["functions.reconcile_checkouts.app"]
    return lambda: app.lambda_handler(load_event("reconcile_checkouts"), FakeLambdaContext())


@pytest.mark.parametrize("provider_reached", [False, True], ids=["before-the-provider", "after-the-provider"])
@pytest.mark.parametrize("function", ["refund_order", "cancel_order"])
def test_a_refund_whose_function_died_after_moving_the_order_is_finished_by_the_upkeep_once(
    payments: Payments,
    upkeep: Callable[[], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    function: str,
    provider_reached: bool,
) -> None:
    # Given a paid order whose refund (or cancel) dies once the order is REFUND_PENDING: before the provider is
    # asked, or after the provider refunded but before its answer is recorded
    order_id, intent_id, sku = paid_order(payments)
    original = StripePayments.refund

    def dies(self: StripePayments, intent: str, metadata: Mapping[str, str], idempotency_key: str) -> Refund:
        if provider_reached:
            original(self, intent, metadata, idempotency_key)
        raise SandboxRecycled

    monkeypatch.setattr(StripePayments, "refund", dies)
    with pytest.raises(SandboxRecycled):
        payments.operator(function, {"orderId": order_id})
    monkeypatch.setattr(StripePayments, "refund", original)
    assert payments.order_status(order_id) is OrderStatus.REFUND_PENDING
    assert payments.refunds_of(intent_id) == (2400 if provider_reached else 0)
    # When the upkeep runs
    report = upkeep()
    # Then the order is finished as asked, refunded at the provider exactly once, its units back once
    assert report["refundsFinished"] == 1
    final = OrderStatus.REFUNDED if function == "refund_order" else OrderStatus.CANCELLED
    assert payments.order_status(order_id) is final
    assert [r["amount"] for r in payments.served.sandbox.ledger.refunds_of(intent_id)] == [2400]
    assert payments.stock(sku).on_hand == 10
    # And a second run finds nothing to finish and refunds nothing more
    assert upkeep()["refundsFinished"] == 0
    assert len(payments.served.sandbox.ledger.refunds_of(intent_id)) == 1
    assert payments.stock(sku).on_hand == 10


def test_the_upkeep_leaves_a_pending_refund_while_the_provider_is_down(
    payments: Payments, upkeep: Callable[[], dict[str, Any]]
) -> None:
    # Given an order left REFUND_PENDING by an outage, which still lasts
    order_id, intent_id, _ = paid_order(payments)
    fault = payments.served.sandbox.faults.add(FaultSpec(kind="error", status=503, count=None, path="/v1/refunds"))
    try:
        refused(payments.operator("refund_order", {"orderId": order_id}), 503, "PAYMENT_PROVIDER_UNAVAILABLE")
        # When the upkeep runs, Then it finishes nothing and moves no money
        assert upkeep()["refundsFinished"] == 0
        assert payments.order_status(order_id) is OrderStatus.REFUND_PENDING
    finally:
        payments.served.sandbox.faults.remove(fault.id)
    # When it runs once the provider is back, Then the order is refunded, once
    assert upkeep()["refundsFinished"] == 1
    assert payments.order_status(order_id) is OrderStatus.REFUNDED
    assert payments.refunds_of(intent_id) == 2400


@pytest.mark.parametrize("function", ["refund_order", "cancel_order"])
def test_a_refund_the_provider_refuses_is_409_and_leaves_the_order_refund_failed(
    payments: Payments, function: str
) -> None:
    # Given a paid order whose charge the card holder disputed at the provider
    order_id, intent_id, sku = paid_order(payments)
    payments.served.sandbox.ledger.dispute(intent_id)
    # When an operator refunds (or cancels) it, Then 409 REFUND_REJECTED naming the provider's refusal
    answer = payments.operator(function, {"orderId": order_id})
    refused(answer, 409, "REFUND_REJECTED")
    assert "charged back" in answer.body["detail"]
    # And the order is REFUND_FAILED in the database, its history holding the provider's reason
    assert payments.order_status(order_id) is OrderStatus.REFUND_FAILED
    order = payments.orders.get(order_id)
    assert order is not None
    event = order.events[-1]
    assert (event.type, event.from_status, event.detail["reason"]) == (
        "RefundFailed",
        OrderStatus.REFUND_PENDING,
        "charge_disputed",
    )
    # And no money moved, no stock moved; asking again is 409 INVALID_TRANSITION and asks the provider nothing
    assert payments.refunds_of(intent_id) == 0
    assert payments.stock(sku).on_hand == 8
    refused(payments.operator("refund_order", {"orderId": order_id}), 409, "INVALID_TRANSITION")
    assert payments.served.sandbox.ledger.refunds_of(intent_id) == []


def test_a_payment_already_refunded_at_the_provider_counts_as_the_refund(payments: Payments) -> None:
    # Given a paid order whose payment was refunded at the provider already, under another key (its dashboard)
    order_id, intent_id, sku = paid_order(payments)
    payments.stripe.v1.refunds.create({"payment_intent": intent_id}, {"idempotency_key": "dashboard-1"})
    # When an operator refunds it, Then 200 REFUNDED (the provider's "already refunded" is the refund), units back
    answer = payments.operator("refund_order", {"orderId": order_id})
    assert answer.status == 200, answer.body
    assert answer.body["status"] == "REFUNDED"
    assert answer.body["events"][-1]["detail"]["refundId"] is None
    assert len(payments.served.sandbox.ledger.refunds_of(intent_id)) == 1
    assert payments.stock(sku).on_hand == 10


def test_a_refund_that_fails_later_at_the_provider_moves_the_order_to_refund_failed_once(payments: Payments) -> None:
    # Given a refunded order (its units back on the shelf)
    order_id, intent_id, sku = paid_order(payments)
    answer = payments.operator("refund_order", {"orderId": order_id})
    assert answer.status == 200, answer.body
    refund_id = answer.body["events"][-1]["detail"]["refundId"]
    # When the refund fails later at the provider (the card was closed), which sends its two signed events
    payments.served.sandbox.ledger.fail_refund(refund_id, "expired_or_canceled_card")
    _, updated, failed = payments.deliveries(intent_id, 3)
    assert (json.loads(updated.body)["type"], json.loads(failed.body)["type"]) == (
        "charge.refund.updated",
        "refund.failed",
    )
    # And the webhook receives them newest first, each twice
    answers = [payments.deliver(received) for received in (failed, updated, failed, updated)]
    # Then each is 200 and the order left REFUNDED for REFUND_FAILED once, with the provider's reason
    assert [a.status for a in answers] == [200, 200, 200, 200]
    order = payments.orders.get(order_id)
    assert order is not None
    assert order.status is OrderStatus.REFUND_FAILED
    assert [e.type for e in order.events].count("RefundFailed") == 1
    event = order.events[-1]
    assert (event.from_status, event.detail["refundId"], event.detail["reason"]) == (
        OrderStatus.REFUNDED,
        refund_id,
        "expired_or_canceled_card",
    )
    # And the money is back on the charge at the provider; the stock is as the refund left it
    assert payments.refunds_of(intent_id) == 0
    assert payments.stock(sku).on_hand == 10
    # And an operator's refund now is 409: nothing leaves REFUND_FAILED
    refused(payments.operator("refund_order", {"orderId": order_id}), 409, "INVALID_TRANSITION")


def test_a_refund_failure_with_a_bad_signature_changes_nothing(payments: Payments) -> None:
    # Given a refunded order whose refund failed at the provider
    order_id, intent_id, _ = paid_order(payments)
    refund_id = payments.operator("refund_order", {"orderId": order_id}).body["events"][-1]["detail"]["refundId"]
    payments.served.sandbox.ledger.fail_refund(refund_id)
    *_, failed = payments.deliveries(intent_id, 3)
    # When its event arrives with a signature that does not verify, Then 400 BAD_SIGNATURE and it stays REFUNDED
    refused(payments.webhook(failed.body, "t=1,v1=0000"), 400, "BAD_SIGNATURE")
    assert payments.order_status(order_id) is OrderStatus.REFUNDED
