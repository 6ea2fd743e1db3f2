"""The Stripe adapter (commerce.adapters.payments) against the payments sandbox, through the official `stripe`
package: idempotent intents and refunds, what cancelling finds, errors translated into retryable or not, a key
replaced after deploy, and webhook signature verification."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest
import requests
import stripe

from commerce.adapters.payments import StripePayments, verified_event
from commerce.domain.money import Money
from commerce.domain.payments.errors import BadSignature, PaymentProviderRejected, PaymentProviderUnavailable
from commerce.domain.payments.models import IntentState
from localcloud.payments import FaultSpec
from tests.support.payments import SECRET_KEY, Served, served_sandbox

pytestmark = pytest.mark.integration

KEY_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:payments-api-key-AbCdEf"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with served_sandbox() as served:
        yield served


class Keys:
    """Secrets Manager as the adapter sees it: a value per ARN, and a count of reads."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.reads = 0

    def read(self, arn: str) -> str:
        assert arn == KEY_ARN
        self.reads += 1
        return self.value

    def forget(self, arn: str) -> None:
        return


def adapter(served: Served, keys: Keys | None = None) -> StripePayments:
    keys = keys or Keys(SECRET_KEY)
    return StripePayments(served.url, KEY_ARN, read_secret=keys.read, forget_secret=keys.forget)


def pay(served: Served, intent_id: str) -> None:
    confirmed = requests.post(
        f"{served.url}/v1/payment_intents/{intent_id}/confirm",
        data={"payment_method": "pm_card_visa"},
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
        timeout=30,
    )
    assert confirmed.ok, confirmed.text


def test_an_intent_is_created_once_per_idempotency_key(served: Served) -> None:
    # Given the adapter and a checkout's key
    payments, key = adapter(served), f"payment-intent-{uuid.uuid4()}"
    metadata = {"checkout_id": "c-1", "order_id": "o-1"}
    # When the intent is created twice with that key
    first = payments.create_intent(Money(3300, "EUR"), metadata, key)
    second = payments.create_intent(Money(3300, "EUR"), metadata, key)
    # Then it is the same intent, for the amount in lower-case currency, with the metadata
    assert (second.intent_id, second.client_secret) == (first.intent_id, first.client_secret)
    intent = stripe.StripeClient(SECRET_KEY, base_addresses={"api": served.url}).v1.payment_intents.retrieve(
        first.intent_id
    )
    assert (intent.amount, intent.currency, intent.metadata.to_dict()) == (3300, "eur", metadata)


def test_cancelling_tells_a_cancelled_intent_from_a_paid_one(served: Served) -> None:
    payments = adapter(served)
    unpaid = payments.create_intent(Money(500, "EUR"), {}, f"k-{uuid.uuid4()}")
    paid = payments.create_intent(Money(500, "EUR"), {}, f"k-{uuid.uuid4()}")
    pay(served, paid.intent_id)
    # When each is cancelled (the unpaid one twice), Then the unpaid one is CANCELLED, the paid one SUCCEEDED
    assert payments.cancel_intent(unpaid.intent_id) is IntentState.CANCELED
    assert payments.cancel_intent(unpaid.intent_id) is IntentState.CANCELED
    assert payments.cancel_intent(paid.intent_id) is IntentState.SUCCEEDED


def test_a_refund_is_made_once_whatever_the_key(served: Served) -> None:
    # Given a paid intent
    payments = adapter(served)
    intent = payments.create_intent(Money(1200, "EUR"), {}, f"k-{uuid.uuid4()}")
    pay(served, intent.intent_id)
    # When it is refunded twice with the same key, Then the same refund comes back
    first = payments.refund(intent.intent_id, {"order_id": "o-1"}, "refund-o-1-" + intent.intent_id)
    again = payments.refund(intent.intent_id, {"order_id": "o-1"}, "refund-o-1-" + intent.intent_id)
    assert first.refund_id is not None
    assert again == first
    # When a refund is asked with another key (the first one expired), Then it is already refunded: no refund id
    assert payments.refund(intent.intent_id, {}, f"k-{uuid.uuid4()}").refund_id is None


def test_provider_failures_are_retryable_and_refusals_are_not(served: Served) -> None:
    payments = adapter(served)
    # Given a provider answering 503, When an intent is created, Then the error is PaymentProviderUnavailable
    fault = served.sandbox.faults.add(FaultSpec(kind="error", status=503, count=1, path="/v1/payment_intents"))
    with pytest.raises(PaymentProviderUnavailable):
        payments.create_intent(Money(500, "EUR"), {}, f"k-{uuid.uuid4()}")
    served.sandbox.faults.remove(fault.id)
    # Given parameters the provider refuses (refunding what was never paid), Then PaymentProviderRejected
    unpaid = payments.create_intent(Money(500, "EUR"), {}, f"k-{uuid.uuid4()}")
    with pytest.raises(PaymentProviderRejected):
        payments.refund(unpaid.intent_id, {}, f"k-{uuid.uuid4()}")


def test_a_key_put_in_after_deploy_is_read_again_after_an_authentication_error(served: Served) -> None:
    # Given a container that read the placeholder key, then an operator put the real key in
    keys = Keys("placeholder-from-deploy")
    payments = adapter(served, keys)
    with pytest.raises(PaymentProviderRejected):
        payments.create_intent(Money(500, "EUR"), {}, f"k-{uuid.uuid4()}")
    keys.value = SECRET_KEY
    # When the next payment is requested, Then the key is read again and it works
    assert payments.create_intent(Money(500, "EUR"), {}, f"k-{uuid.uuid4()}").intent_id.startswith("pi_")
    assert keys.reads >= 2


def test_no_key_configured_refuses_every_call(served: Served) -> None:
    with pytest.raises(PaymentProviderRejected):
        StripePayments(served.url, None).create_intent(Money(500, "EUR"), {}, "k")


def test_webhook_signatures_are_verified_with_a_300_second_tolerance() -> None:
    # Given an event body and its signing secret
    secret = "whsec_test_secret"
    body = json.dumps({"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "data": {"object": {}}})
    now = int(time.time())

    def header(at: int, key: str = secret) -> str:
        return str(stripe.WebhookSignature.generate_signature_header(body, key, timestamp=at))

    # When it is signed now (or 299 s ago), Then it verifies and reads as the event
    assert verified_event(body.encode(), header(now), secret).event_id == "evt_1"
    assert verified_event(body.encode(), header(now - 299), secret).type == "payment_intent.succeeded"
    # When it is older than 300 s, signed with another secret, tampered, or unsigned, Then BadSignature
    for signature, payload in (
        (header(now - 301), body),
        (header(now, "whsec_other"), body),
        (header(now), body.replace("evt_1", "evt_2")),
        (None, body),
    ):
        with pytest.raises(BadSignature):
            verified_event(payload.encode(), signature, secret)
