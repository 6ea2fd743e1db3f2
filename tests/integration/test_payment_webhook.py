"""POST /webhooks/payments/stripe with the sandbox's own signed deliveries (and forged ones): verification,
deduplication, any delivery order, ignored types, and money that arrives after its checkout failed.

Every refused request answers 400 BAD_SIGNATURE as problem+json and changes nothing.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import stripe

from commerce.adapters.dynamodb.client import dynamodb_client, to_attrs
from commerce.adapters.dynamodb.keys import webhook_event_key
from commerce.domain.checkout.models import CheckoutStatus
from commerce.domain.payments.models import PaymentOutcome
from localcloud.payments import DeliverySettings
from tests.support.checkout_saga import Answer, Payments

pytestmark = pytest.mark.integration


def awaiting(payments: Payments) -> tuple[str, str]:
    """A checkout awaiting payment: (checkout id, intent id)."""
    checkout = payments.checkout((payments.sku(), 1))
    payments.request_payment(checkout.checkout_id)
    payment = payments.stored(checkout.checkout_id).payment
    assert payment is not None
    return checkout.checkout_id, payment.intent_id


def refused(answer: Answer) -> None:
    assert answer.status == 400, answer.body
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.code == "BAD_SIGNATURE"
    assert answer.headers["X-Request-Id"]


def accepted(answer: Answer) -> None:
    assert answer.status == 200, answer.body
    assert answer.body == {"received": True}


def handled(payments: Payments, event_id: str) -> bool:
    item = dynamodb_client().get_item(TableName=payments.table, Key=to_attrs(webhook_event_key(event_id)))
    return "Item" in item


def outcome(payments: Payments, intent_id: str) -> PaymentOutcome | None:
    record = payments.records.get(intent_id)
    return record.outcome if record else None


def sign(payments: Payments, body: str, *, secret: str | None = None, at: int | None = None) -> str:
    secret = secret or payments.served.sandbox.webhook_endpoints[0].secret
    return str(stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=at))


def event_body(event_id: str, kind: str, obj: dict[str, Any]) -> str:
    return json.dumps(
        {"id": event_id, "object": "event", "type": kind, "created": int(time.time()), "data": {"object": obj}}
    )


def test_a_signed_success_is_accepted_once_and_decides_the_payment(payments: Payments) -> None:
    # Given a checkout whose customer paid, and the sandbox's signed delivery of the success
    checkout_id, intent_id = awaiting(payments)
    assert payments.pay(checkout_id).ok
    [delivery] = payments.deliveries(intent_id, 1)
    event_id = json.loads(delivery.body)["id"]
    # When it is delivered, Then it is accepted, the outcome is SUCCEEDED and the event remembered
    accepted(payments.deliver(delivery))
    assert outcome(payments, intent_id) is PaymentOutcome.SUCCEEDED
    assert handled(payments, event_id)
    # When the same event is delivered again, Then it is accepted again and changes nothing
    record = payments.records.get(intent_id)
    accepted(payments.deliver(delivery))
    assert payments.records.get(intent_id) == record


def test_the_sandboxs_duplicate_deliveries_are_each_answered_200(payments: Payments) -> None:
    # Given a sandbox that sends every event twice
    checkout_id, intent_id = awaiting(payments)
    payments.served.sandbox.webhooks.configure(DeliverySettings(duplicates=1))
    try:
        assert payments.pay(checkout_id).ok
        first, second = payments.deliveries(intent_id, 2)
    finally:
        payments.served.sandbox.webhooks.configure(DeliverySettings())
    # When both copies arrive, Then both are accepted and the payment is decided once
    assert first.body == second.body
    accepted(payments.deliver(first))
    accepted(payments.deliver(second))
    assert outcome(payments, intent_id) is PaymentOutcome.SUCCEEDED


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(
            lambda body, signature: (body.replace(b'"amount": 1200', b'"amount": 1'), signature), id="tampered"
        ),
        pytest.param(lambda body, signature: (body, None), id="no-signature"),
        pytest.param(lambda body, signature: (body, "t=1,v1=deadbeef"), id="wrong-signature"),
        pytest.param(lambda body, signature: (body, "garbage"), id="malformed-header"),
    ],
)
def test_a_body_that_does_not_verify_is_refused_and_changes_nothing(payments: Payments, forge: Any) -> None:
    # Given the sandbox's genuine delivery of a success
    checkout_id, intent_id = awaiting(payments)
    assert payments.pay(checkout_id).ok
    [delivery] = payments.deliveries(intent_id, 1)
    body, signature = forge(delivery.body, delivery.signature)
    # When a forged variant of it arrives, Then 400 BAD_SIGNATURE and the payment is not decided
    refused(payments.webhook(body, signature))
    assert outcome(payments, intent_id) is None
    assert not handled(payments, json.loads(delivery.body)["id"])


def test_stale_foreign_and_non_event_bodies_are_refused(payments: Payments) -> None:
    # Given a checkout awaiting payment, and success events signed in ways that must not verify
    checkout_id, intent_id = awaiting(payments)
    checkout = payments.stored(checkout_id)
    obj = {
        "id": intent_id,
        "object": "payment_intent",
        "metadata": {"checkout_id": checkout_id, "order_id": checkout.order_id},
    }
    body = event_body("evt_forged_1", "payment_intent.succeeded", obj)
    # When one is older than the 300 s tolerance, another signed with some other secret, Then both are refused
    refused(payments.webhook(body, sign(payments, body, at=int(time.time()) - 301)))
    refused(payments.webhook(body, sign(payments, body, secret="whsec_someone_else")))
    # When a correctly signed body is not JSON, or JSON but not an event, Then it is refused too
    refused(payments.webhook("not json", sign(payments, "not json")))
    refused(payments.webhook("[1, 2]", sign(payments, "[1, 2]")))
    assert outcome(payments, intent_id) is None


def test_nesting_bombs_are_refused_signed_or_not(payments: Payments) -> None:
    # Given bodies of 50,000 `[` (json.loads would raise RecursionError) and an event nested 40 levels deep
    bomb = "[" * 50_000
    deep_event = event_body("evt_deep_1", "payment_intent.succeeded", {"x": json.loads("[" * 40 + "]" * 40)})
    # When the bomb comes unsigned, with a forged signature, or correctly signed, Then each is a 400 BAD_SIGNATURE
    refused(payments.webhook(bomb, None))
    refused(payments.webhook(bomb, sign(payments, "[]")))
    refused(payments.webhook(bomb, sign(payments, bomb)))
    # When a correctly signed event nests deeper than any event Stripe sends, Then it is refused as well
    refused(payments.webhook(deep_event, sign(payments, deep_event)))
    assert not handled(payments, "evt_deep_1")


def test_a_failure_delivered_after_the_success_changes_nothing(payments: Payments) -> None:
    # Given a declined attempt and then a successful one on the same intent
    checkout_id, intent_id = awaiting(payments)
    assert payments.pay(checkout_id, "pm_card_chargeDeclined").status_code == 402
    assert payments.pay(checkout_id).ok
    failed, succeeded = payments.deliveries(intent_id, 2)
    assert [json.loads(d.body)["type"] for d in (failed, succeeded)] == [
        "payment_intent.payment_failed",
        "payment_intent.succeeded",
    ]
    # When they arrive newest first (out of order)
    accepted(payments.deliver(succeeded))
    accepted(payments.deliver(failed))
    # Then the success stands, nothing was refunded, and both events are remembered
    assert outcome(payments, intent_id) is PaymentOutcome.SUCCEEDED
    assert payments.refunds_of(intent_id) == 0
    assert handled(payments, json.loads(failed.body)["id"])


def test_a_success_after_the_checkout_failed_is_refunded_once(payments: Payments) -> None:
    # Given a declined payment the workflow acted on, and the customer then paying with another card
    checkout_id, intent_id = awaiting(payments)
    assert payments.pay(checkout_id, "pm_card_chargeDeclined").status_code == 402
    [declined] = payments.deliveries(intent_id, 1)
    accepted(payments.deliver(declined))
    assert outcome(payments, intent_id) is PaymentOutcome.DECLINED
    assert payments.pay(checkout_id).ok
    # When the late success arrives
    [_, succeeded] = payments.deliveries(intent_id, 2)
    accepted(payments.deliver(succeeded))
    # Then the money went back
    assert payments.refunds_of(intent_id) == 1200
    assert [e["detail-type"] for e in payments.published()] == ["PaymentRefunded"]
    # When the workflow then compensates the decline, Then the checkout is FAILED and nothing is refunded twice
    assert payments.compensate(checkout_id, "PaymentDeclined")["status"] == "FAILED"
    assert payments.stored(checkout_id).status is CheckoutStatus.FAILED
    assert payments.refunds_of(intent_id) == 1200


def test_event_types_it_does_not_act_on_are_acknowledged_and_ignored(payments: Payments) -> None:
    # Given a correctly signed event of a type the webhook does not act on
    body = event_body("evt_customer_1", "customer.created", {"id": "cus_1", "object": "customer"})
    # When it arrives, Then 200 and nothing is recorded
    accepted(payments.webhook(body, sign(payments, body)))
    assert not handled(payments, "evt_customer_1")


def test_an_intent_that_belongs_to_no_checkout_is_acknowledged_and_ignored(payments: Payments) -> None:
    # Given a payment made at the provider outside any checkout of ours
    intent = payments.stripe.v1.payment_intents.create({"amount": 500, "currency": "eur"})
    payments.stripe.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})
    [delivery] = payments.deliveries(intent.id, 1)
    # When its success arrives, Then 200 and nothing is recorded or refunded
    accepted(payments.deliver(delivery))
    assert payments.records.get(intent.id) is None
    assert payments.refunds_of(intent.id) == 0
