"""Refunds in the sandbox through the official `stripe` package: full, partial, over-refund, idempotency."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
import stripe

from tests.support.payments import Served, replayed, served_sandbox, stripe_client

pytestmark = pytest.mark.localcloud


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    # One sandbox for the module: every test pays its own intent, so they cannot interfere.
    with served_sandbox() as served:
        yield served


@pytest.fixture
def client(served: Served) -> stripe.StripeClient:
    return stripe_client(served.url)


def _paid_intent(client: stripe.StripeClient, amount: int = 3000) -> stripe.PaymentIntent:
    intent = client.v1.payment_intents.create({"amount": amount, "currency": "usd"})
    return client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})


def test_refund_without_amount_refunds_everything(client: stripe.StripeClient) -> None:
    # Given a paid intent
    intent = _paid_intent(client, 3000)

    # When it is refunded without an amount
    refund = client.v1.refunds.create({"payment_intent": intent.id, "reason": "requested_by_customer"})

    # Then the whole charge is refunded
    assert (refund.object, refund.status, refund.amount, refund.currency) == ("refund", "succeeded", 3000, "usd")
    assert (refund.payment_intent, refund.charge, refund.reason) == (
        intent.id,
        intent.latest_charge,
        "requested_by_customer",
    )
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (3000, True)
    assert client.v1.refunds.retrieve(refund.id).amount == 3000


def test_partial_refunds_add_up_on_the_charge(client: stripe.StripeClient) -> None:
    # Given a paid intent
    intent = _paid_intent(client, 3000)

    # When two partial refunds are made
    client.v1.refunds.create({"payment_intent": intent.id, "amount": 1000})
    client.v1.refunds.create({"charge": str(intent.latest_charge), "amount": 500})

    # Then the charge shows 1500 refunded and is not fully refunded yet
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (1500, False)


def test_refunding_more_than_remains_is_a_400(client: stripe.StripeClient) -> None:
    # Given a paid intent with 2000 of 3000 already refunded
    intent = _paid_intent(client, 3000)
    client.v1.refunds.create({"payment_intent": intent.id, "amount": 2000})

    # When 1500 more is asked for
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create({"payment_intent": intent.id, "amount": 1500})

    # Then Stripe's amount_too_large comes back and nothing more is refunded
    assert (raised.value.http_status, raised.value.code, raised.value.param) == (400, "amount_too_large", "amount")
    assert client.v1.charges.retrieve(str(intent.latest_charge)).amount_refunded == 2000


def test_a_fully_refunded_charge_cannot_be_refunded_again(client: stripe.StripeClient) -> None:
    # Given a fully refunded intent
    intent = _paid_intent(client)
    client.v1.refunds.create({"payment_intent": intent.id})

    # When it is refunded again, Then Stripe's charge_already_refunded comes back
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create({"payment_intent": intent.id})
    assert raised.value.code == "charge_already_refunded"


def test_an_unpaid_intent_has_nothing_to_refund(client: stripe.StripeClient) -> None:
    # Given an intent never confirmed
    intent = client.v1.payment_intents.create({"amount": 1000, "currency": "usd"})

    # When it is refunded, Then it is a 400 naming the intent
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create({"payment_intent": intent.id})
    assert (raised.value.http_status, raised.value.param) == (400, "payment_intent")


def test_refund_with_the_same_idempotency_key_refunds_once(client: stripe.StripeClient) -> None:
    # Given a paid intent and a refund key
    intent = _paid_intent(client, 3000)
    key = f"refund-{uuid.uuid4()}"

    # When the same refund is sent twice with the key
    first = client.v1.refunds.create({"payment_intent": intent.id, "amount": 1000}, {"idempotency_key": key})
    second = client.v1.refunds.create({"payment_intent": intent.id, "amount": 1000}, {"idempotency_key": key})

    # Then it is one refund, replayed, and the charge was refunded once
    assert second.id == first.id
    assert replayed(second) == "true"
    assert client.v1.charges.retrieve(str(intent.latest_charge)).amount_refunded == 1000


def test_refund_records_refund_and_charge_events(client: stripe.StripeClient) -> None:
    # Given a paid intent
    intent = _paid_intent(client, 3000)

    # When it is partly refunded
    refund = client.v1.refunds.create({"payment_intent": intent.id, "amount": 700})

    # Then refund.created and charge.refunded were recorded with the objects as they became
    refunded = [
        event
        for event in client.v1.events.list({"type": "charge.refunded", "limit": 100}).data
        if event.data.object["payment_intent"] == intent.id
    ]
    created = [
        event
        for event in client.v1.events.list({"type": "refund.created", "limit": 100}).data
        if event.data.object["id"] == refund.id
    ]
    assert len(refunded) == 1
    assert len(created) == 1
    assert refunded[0].data.object["amount_refunded"] == 700
    assert refunded[0].to_dict()["data"]["previous_attributes"]["amount_refunded"] == 0
    assert client.v1.events.retrieve(created[0].id).data.object["amount"] == 700


def test_a_disputed_charge_cannot_be_refunded(served: Served, client: stripe.StripeClient) -> None:
    # Given a paid intent whose charge the card holder disputes (the control endpoint)
    intent = _paid_intent(client, 1500)
    answer = requests.post(f"{served.url}/_sandbox/payment_intents/{intent.id}/dispute", timeout=10)
    assert answer.status_code == 200
    assert answer.json()["disputed"] is True
    # When it is refunded, Then Stripe's invalid-request error with the code charge_disputed; nothing refunded
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create({"payment_intent": intent.id})
    assert (refused.value.http_status, refused.value.code) == (400, "charge_disputed")
    assert client.v1.charges.retrieve(str(intent.latest_charge)).amount_refunded == 0


def test_a_refund_that_fails_later_puts_the_amount_back_and_sends_its_events(
    served: Served, client: stripe.StripeClient
) -> None:
    # Given a refunded intent
    intent = _paid_intent(client, 2000)
    refund = client.v1.refunds.create({"payment_intent": intent.id, "metadata": {"order_id": "ord-1"}})
    # When the refund fails later (the control endpoint), twice
    url = f"{served.url}/_sandbox/refunds/{refund.id}/fail"
    first = requests.post(url, json={"failure_reason": "lost_or_stolen_card"}, timeout=10)
    again = requests.post(url, timeout=10)
    # Then the refund is failed with its reason, its amount back on the charge
    assert first.status_code == again.status_code == 200
    assert (first.json()["status"], first.json()["failure_reason"]) == ("failed", "lost_or_stolen_card")
    assert client.v1.refunds.retrieve(refund.id).status == "failed"
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (0, False)
    # And Stripe's three events were recorded once, each with the refund (its metadata and payment intent)
    events = [e.to_dict() for e in client.v1.events.list({"limit": 100}).data]
    about = [e for e in events if e["data"]["object"]["id"] == refund.id]
    failures = [e for e in about if e["type"] in ("charge.refund.updated", "refund.updated", "refund.failed")]
    assert sorted(e["type"] for e in failures) == ["charge.refund.updated", "refund.failed", "refund.updated"]
    for failure in failures:
        assert failure["data"]["object"]["payment_intent"] == intent.id
        assert failure["data"]["object"]["metadata"] == {"order_id": "ord-1"}


def test_failing_an_unknown_refund_is_a_404(served: Served) -> None:
    answer = requests.post(f"{served.url}/_sandbox/refunds/re_missing/fail", timeout=10)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "resource_missing"
