"""The checkout workflow's task functions, called as Step Functions calls them (events/ samples), against moto
(DynamoDB, EventBridge, Secrets Manager, Step Functions), the orders database through the local Data API and
the payments sandbox through the official `stripe` package.

The harness (`Payments`, tests/support/checkout_saga.py, fixtures in tests/integration/conftest.py) is
shared with the webhook, refund and operator view tests.
"""

from __future__ import annotations

import uuid

import pytest

from commerce.domain.checkout.errors import CheckoutCannotComplete
from commerce.domain.checkout.models import CheckoutStatus, FailureCode
from commerce.domain.inventory.models import ReservationStatus
from commerce.domain.orders.models import OrderStatus
from commerce.domain.payments.errors import PaymentProviderUnavailable
from commerce.domain.payments.models import PaymentOutcome
from localcloud.payments import FaultSpec
from tests.support.checkout_saga import Payments

pytestmark = pytest.mark.integration


# ---------------------------------------------------------------------------------------------- RequestPayment


def test_requesting_the_payment_creates_the_order_and_intent_and_waits_for_it(payments: Payments) -> None:
    # Given a queued checkout of 2 cups
    sku = payments.sku()
    checkout = payments.checkout((sku, 2))
    # When the workflow's first step runs
    token = payments.request_payment(checkout.checkout_id)
    # Then the checkout awaits payment and shows the intent's client secret
    awaiting = payments.stored(checkout.checkout_id)
    assert awaiting.status is CheckoutStatus.AWAITING_PAYMENT
    assert awaiting.payment is not None
    assert awaiting.to_json()["payment"]["provider"] == "stripe"
    # And the intent at the provider is for the total, in the currency, tagged with the checkout and order
    intent = payments.stripe.v1.payment_intents.retrieve(awaiting.payment.intent_id)
    assert (intent.amount, intent.currency, intent.status) == (2400, "eur", "requires_payment_method")
    assert intent.metadata.to_dict() == {"checkout_id": checkout.checkout_id, "order_id": checkout.order_id}
    assert intent.client_secret == awaiting.payment.client_secret
    # And the order exists, unpaid; the task token waits against the intent; the stock is still reserved
    assert payments.order_status(checkout.order_id) is OrderStatus.PENDING_PAYMENT
    record = payments.records.get(awaiting.payment.intent_id)
    assert record is not None
    assert (record.task_token, record.checkout_id, record.outcome) == (token, checkout.checkout_id, None)
    assert (payments.stock(sku).on_hand, payments.stock(sku).reserved) == (10, 2)


def test_a_retried_request_makes_no_second_intent_or_order(payments: Payments) -> None:
    # Given a checkout whose payment was requested
    checkout = payments.checkout((payments.sku(), 1))
    payments.request_payment(checkout.checkout_id)
    first = payments.stored(checkout.checkout_id)
    # When Step Functions runs the step again with a new token
    token = payments.request_payment(checkout.checkout_id)
    # Then the checkout is unchanged, the token replaced, and the provider holds one intent for the checkout
    assert payments.stored(checkout.checkout_id) == first
    assert first.payment is not None
    record = payments.records.get(first.payment.intent_id)
    assert record is not None
    assert record.task_token == token
    created = payments.stripe.v1.events.list({"type": "payment_intent.created", "limit": 100})
    assert [e.data.object["id"] for e in created.data].count(first.payment.intent_id) == 1
    mine = [e for e in created.data if e.data.object["metadata"].to_dict().get("checkout_id") == checkout.checkout_id]
    assert len(mine) == 1


def test_a_provider_error_is_raised_by_its_name_for_the_state_machine_to_retry(payments: Payments) -> None:
    # Given a provider that answers 503 to the next intent creation
    checkout = payments.checkout((payments.sku(), 1))
    payments.served.sandbox.faults.add(FaultSpec(kind="error", status=503, count=1, path="/v1/payment_intents"))
    # When the step runs, Then it fails with PaymentProviderUnavailable (the name the ASL retries)
    with pytest.raises(PaymentProviderUnavailable):
        payments.request_payment(checkout.checkout_id)
    assert payments.stored(checkout.checkout_id).status is CheckoutStatus.PROCESSING
    # When Step Functions retries it, Then it succeeds
    payments.request_payment(checkout.checkout_id)
    assert payments.stored(checkout.checkout_id).status is CheckoutStatus.AWAITING_PAYMENT


# ---------------------------------------------------------------------------------------------- Complete


def test_a_confirmed_payment_completes_the_checkout(payments: Payments) -> None:
    # Given a checkout awaiting payment, whose buyer's cart still holds the cups plus a saucer added since
    cup, saucer = payments.sku(), payments.sku()
    session_id = f"sess-{uuid.uuid4().hex[:12]}"
    checkout = payments.checkout((cup, 2), session_id=session_id)
    payments.guest_cart(session_id, {cup: 2, saucer: 1})
    payments.request_payment(checkout.checkout_id)
    # When the customer pays and the webhook reports it
    assert payments.pay(checkout.checkout_id).status_code == 200
    intent_id = payments.stored(checkout.checkout_id).payment.intent_id  # type: ignore[union-attr]
    [delivery] = payments.deliveries(intent_id, 1)
    assert payments.deliver(delivery).status == 200
    # And the workflow completes
    result = payments.task("complete_checkout", checkoutId=checkout.checkout_id, payment={"intentId": intent_id})
    # Then the checkout is COMPLETED, the order PAID, the stock committed, the cart keeps only the saucer
    assert result == {"status": "COMPLETED"}
    assert payments.stored(checkout.checkout_id).status is CheckoutStatus.COMPLETED
    assert payments.order_status(checkout.order_id) is OrderStatus.PAID
    assert (payments.stock(cup).on_hand, payments.stock(cup).reserved) == (8, 0)
    assert payments.cart_lines(session_id) == {saucer: 1}
    # And OrderPlaced is on the bus, with what was bought
    [placed] = [e for e in payments.published() if e["detail-type"] == "OrderPlaced"]
    assert placed["source"] == "commerce"
    assert placed["detail"]["version"] == 1
    assert placed["detail"]["checkoutId"] == checkout.checkout_id
    assert placed["detail"]["lines"] == [{"sku": cup, "quantity": 2}]
    assert placed["detail"]["total"] == {"amount": 2400, "currency": "EUR"}


def test_completion_refuses_a_payment_nobody_confirmed(payments: Payments) -> None:
    # Given a checkout awaiting a payment that was never made
    checkout = payments.checkout((payments.sku(), 1))
    payments.request_payment(checkout.checkout_id)
    # When the completion step is called anyway, Then it fails without retry and the order stays unpaid
    with pytest.raises(CheckoutCannotComplete):
        payments.task("complete_checkout", checkoutId=checkout.checkout_id)
    assert payments.order_status(checkout.order_id) is OrderStatus.PENDING_PAYMENT


# ---------------------------------------------------------------------------------------------- Compensate


def test_a_declined_payment_is_compensated(payments: Payments) -> None:
    # Given a checkout awaiting payment, and a card that is declined
    sku = payments.sku()
    checkout = payments.checkout((sku, 3))
    payments.request_payment(checkout.checkout_id)
    assert payments.pay(checkout.checkout_id, "pm_card_chargeDeclined").status_code == 402
    intent_id = payments.stored(checkout.checkout_id).payment.intent_id  # type: ignore[union-attr]
    [failed] = payments.deliveries(intent_id, 1)
    assert payments.deliver(failed).status == 200
    assert payments.records.get(intent_id).outcome is PaymentOutcome.DECLINED  # type: ignore[union-attr]
    # When the workflow compensates the PaymentDeclined it caught
    result = payments.compensate(checkout.checkout_id, "PaymentDeclined", "Your card was declined.")
    # Then the checkout is FAILED for that reason, the stock free again, the order CANCELLED, the intent cancelled
    assert result == {"status": "FAILED", "fault": False}
    failed_checkout = payments.stored(checkout.checkout_id)
    assert failed_checkout.failure is not None
    assert failed_checkout.failure.code is FailureCode.PAYMENT_DECLINED
    assert (payments.stock(sku).on_hand, payments.stock(sku).reserved) == (10, 0)
    assert payments.ledger.get_reservation(checkout.checkout_id).status is ReservationStatus.RELEASED  # type: ignore[union-attr]
    assert payments.order_status(checkout.order_id) is OrderStatus.CANCELLED
    assert payments.stripe.v1.payment_intents.retrieve(intent_id).status == "canceled"
    # And PaymentFailed is on the bus
    assert [e["detail-type"] for e in payments.published()] == ["PaymentFailed"]


def test_an_expiry_while_the_payment_went_through_refunds_it_once(payments: Payments) -> None:
    # Given a checkout whose customer paid just as the wait timed out (the webhook is still on its way)
    sku = payments.sku()
    checkout = payments.checkout((sku, 1))
    payments.request_payment(checkout.checkout_id)
    payments.served.sandbox.webhooks.pause()
    try:
        assert payments.pay(checkout.checkout_id).status_code == 200
        intent_id = payments.stored(checkout.checkout_id).payment.intent_id  # type: ignore[union-attr]
        # When the timeout is compensated (twice: a retried step)
        first = payments.compensate(checkout.checkout_id, "States.Timeout")
        payments.compensate(checkout.checkout_id, "States.Timeout")
    finally:
        payments.served.sandbox.webhooks.resume()
    # Then the checkout is EXPIRED, the money refunded once, the stock free, the order CANCELLED
    assert first == {"status": "EXPIRED", "fault": False}
    assert payments.refunds_of(intent_id) == 1200
    assert payments.stock(sku).reserved == 0
    assert payments.order_status(checkout.order_id) is OrderStatus.CANCELLED
    # And the late success webhook, once delivered, refunds nothing more
    [succeeded] = payments.deliveries(intent_id, 1)
    assert payments.deliver(succeeded).status == 200
    assert payments.refunds_of(intent_id) == 1200
    types = [e["detail-type"] for e in payments.published()]
    assert "CheckoutExpired" in types
    assert "PaymentRefunded" in types
