"""Webhook delivery from the sandbox to a local receiver, verified with `stripe.Webhook.construct_event`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import requests
import stripe

from tests.support.payments import (
    Received,
    Served,
    WebhookReceiver,
    served_sandbox,
    stripe_client,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.localcloud

SECRET = "whsec_payments_webhook_tests"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def served(receiver: WebhookReceiver) -> Iterator[Served]:
    with served_sandbox(webhook_url=receiver.url, webhook_secret=SECRET) as served:
        yield served


def _verified(received: Received, secret: str = SECRET) -> stripe.Event:
    return stripe.Webhook.construct_event(received.body, received.signature, secret)


def _types(received: list[Received]) -> list[str]:
    return [json.loads(item.body)["type"] for item in received]


def _paid_intent(served: Served) -> stripe.PaymentIntent:
    client = stripe_client(served.url)
    intent = client.v1.payment_intents.create({"amount": 2000, "currency": "usd", "metadata": {"order_id": "o1"}})
    return client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})


def _patch_webhooks(served: Served, **settings: object) -> None:
    requests.patch(f"{served.url}/_sandbox/webhooks", data=json.dumps(settings), timeout=30).raise_for_status()


def test_events_arrive_signed_and_verify_with_stripe(served: Served, receiver: WebhookReceiver) -> None:
    # Given an endpoint registered with a known secret
    # When an intent is created and paid
    intent = _paid_intent(served)

    # Then the three events arrive in order, each verifying with stripe's own check and carrying the full object
    received = receiver.wait_for(3)
    events = [_verified(item) for item in received]
    assert [event.type for event in events] == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]
    succeeded = events[2].data.object
    assert (succeeded["id"], succeeded["status"], succeeded["amount_received"]) == (intent.id, "succeeded", 2000)
    assert succeeded["metadata"]["order_id"] == "o1"
    assert received[0].path == "/webhooks/payments/stripe"
    assert received[0].headers["Content-Type"].startswith("application/json")
    assert events[0].id.startswith("evt_")


def test_a_tampered_payload_fails_verification(served: Served, receiver: WebhookReceiver) -> None:
    # Given a delivered event
    stripe_client(served.url).v1.payment_intents.create({"amount": 2000, "currency": "usd"})
    received = receiver.wait_for(1)[0]

    # When its amount is changed in transit, or it is checked with another secret
    tampered = received.body.replace(b'"amount": 2000', b'"amount": 1')
    assert tampered != received.body

    # Then stripe's verification rejects both
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, received.signature, SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        _verified(received, secret="whsec_someone_else")


def test_deliveries_are_retried_until_the_receiver_answers_2xx(served: Served) -> None:
    # Given a receiver that fails three times before it answers 200
    with WebhookReceiver(statuses=[500, 503, 404]) as flaky:
        endpoint = served.sandbox.add_webhook_endpoint(flaky.url, enabled_events=["payment_intent.created"])

        # When an event is published
        intent = stripe_client(served.url).v1.payment_intents.create({"amount": 2000, "currency": "usd"})

        # Then the same event is sent four times, the last one accepted, and the log shows each attempt
        received = flaky.wait_for(4)
        assert len({_verified(item, endpoint.secret).id for item in received}) == 1
        wait_until(
            lambda: any(a.succeeded for a in served.sandbox.deliveries() if a.endpoint_id == endpoint.id),
            "the successful attempt to be logged",
        )
        log = requests.get(
            f"{served.url}/_sandbox/webhooks/deliveries", params={"object_id": intent.id}, timeout=30
        ).json()["data"]
        attempts = [(a["attempt"], a["status"], a["succeeded"]) for a in log if a["endpoint_id"] == endpoint.id]
        assert attempts == [(1, 500, False), (2, 503, False), (3, 404, False), (4, 200, True)]


def test_an_endpoint_created_through_the_api_gets_only_its_events(served: Served) -> None:
    # Given an endpoint created with stripe's client for payment_intent.succeeded only
    with WebhookReceiver() as only_succeeded:
        client = stripe_client(served.url)
        endpoint = client.v1.webhook_endpoints.create(
            {"url": only_succeeded.url, "enabled_events": ["payment_intent.succeeded"]}
        )
        assert endpoint.secret is not None
        assert endpoint.secret.startswith("whsec_")

        # When an intent is created and paid (three events)
        intent = _paid_intent(served)

        # Then that endpoint received just the succeeded event, signed with its own secret
        wait_until(lambda: served.sandbox.webhooks.pending() == 0, "the queue to drain")
        received = only_succeeded.received()
        assert [_verified(item, endpoint.secret).type for item in received] == ["payment_intent.succeeded"]
        assert _verified(received[0], endpoint.secret).data.object["id"] == intent.id
        assert "secret" not in client.v1.webhook_endpoints.retrieve(endpoint.id)  # Stripe shows it only on create


def test_duplicate_switch_delivers_every_event_twice(served: Served, receiver: WebhookReceiver) -> None:
    # Given duplicate delivery switched on
    _patch_webhooks(served, duplicates=1)

    # When one event is published
    stripe_client(served.url).v1.payment_intents.create({"amount": 2000, "currency": "usd"})

    # Then it arrives twice, both copies valid and with the same event id
    received = receiver.wait_for(2)
    events = [_verified(item) for item in received]
    assert [event.type for event in events] == ["payment_intent.created", "payment_intent.created"]
    assert events[0].id == events[1].id


def test_lost_switch_never_sends_a_delivery_and_counts_it(served: Served, receiver: WebhookReceiver) -> None:
    # Given every delivery lost
    _patch_webhooks(served, lost=1)
    client = stripe_client(served.url)

    # When one intent is created, the switch turned off, and a second one created
    lost = client.v1.payment_intents.create({"amount": 2000, "currency": "usd"})
    _patch_webhooks(served, lost=0)
    kept = client.v1.payment_intents.create({"amount": 3000, "currency": "usd"})

    # Then only the second intent's event arrives, and the first one's is counted as lost
    received = receiver.wait_for(1)
    assert [_verified(item).data.object["id"] for item in received] == [kept.id]
    assert lost.id not in {_verified(item).data.object["id"] for item in receiver.received()}
    assert served.sandbox.fault_counts()["webhooks"] == {"lost": 1}


def test_out_of_order_switch_delivers_an_intents_events_newest_first(served: Served, receiver: WebhookReceiver) -> None:
    # Given out-of-order delivery switched on
    _patch_webhooks(served, out_of_order=True)

    # When an intent is created and then declined
    client = stripe_client(served.url)
    intent = client.v1.payment_intents.create({"amount": 2000, "currency": "usd"})
    with pytest.raises(stripe.CardError):
        client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_chargeDeclined"})

    # Then its events arrive newest first: the failure before the creation
    received = receiver.wait_for(3)
    assert _types(received) == ["payment_intent.payment_failed", "charge.failed", "payment_intent.created"]
    assert {_verified(item).data.object["id"] for item in received[::2]} == {intent.id}


def test_turning_out_of_order_off_sends_what_is_held(served: Served, receiver: WebhookReceiver) -> None:
    # Given out-of-order delivery holding an unsettled intent's event
    _patch_webhooks(served, out_of_order=True)
    stripe_client(served.url).v1.payment_intents.create({"amount": 2000, "currency": "usd"})
    state = requests.get(f"{served.url}/_sandbox/webhooks", timeout=30).json()
    assert state["pending"] == 1
    assert receiver.received() == []

    # When the switch is turned off
    _patch_webhooks(served, out_of_order=False)

    # Then the held event is delivered
    assert _types(receiver.wait_for(1)) == ["payment_intent.created"]


def test_pause_holds_deliveries_until_resume(served: Served, receiver: WebhookReceiver) -> None:
    # Given delivery paused
    requests.post(f"{served.url}/_sandbox/webhooks/pause", timeout=30).raise_for_status()

    # When an intent is paid while paused
    _paid_intent(served)
    held = requests.get(f"{served.url}/_sandbox/webhooks", timeout=30).json()

    # Then nothing was sent until delivery resumed, and then all three events were
    assert (held["paused"], held["pending"]) == (True, 3)
    assert receiver.received() == []
    requests.post(f"{served.url}/_sandbox/webhooks/resume", timeout=30).raise_for_status()
    assert _types(receiver.wait_for(3)) == ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]


def test_refund_events_are_delivered(served: Served, receiver: WebhookReceiver) -> None:
    # Given a paid intent whose events were delivered
    intent = _paid_intent(served)
    receiver.wait_for(3)

    # When it is refunded
    stripe_client(served.url).v1.refunds.create({"payment_intent": intent.id, "amount": 500})

    # Then refund.created and charge.refunded follow, the charge showing the refunded amount
    events = [_verified(item) for item in receiver.wait_for(5)[3:]]
    assert [event.type for event in events] == ["refund.created", "charge.refunded"]
    assert events[1].data.object["amount_refunded"] == 500


def test_stop_leaves_no_delivery_thread() -> None:
    # Given a started sandbox (other sandboxes of this process may be running: only its own thread counts)
    before = set(threading.enumerate())
    with served_sandbox():
        started = [t for t in threading.enumerate() if t.name == "payments-webhooks" and t not in before]
        assert len(started) == 1

    # When it has been stopped, Then its delivery thread has ended
    assert not started[0].is_alive()
