"""One contract, two payment providers: the Stripe adapter (against the local Stripe-compatible sandbox, through
the official `stripe` package) and the in-memory fake alike.

Intents (created with amount, currency and metadata, once per idempotency key), cancelling (an unpaid intent
is CANCELED, again and again; a paid one reports SUCCEEDED), refunds (of a paid intent, once per key, and a
second one finds it refunded already; an unpaid intent's is refused) and the provider failing (unavailable,
then recovered: worth retrying with the same key).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import requests
import stripe

from commerce.adapters.payments import StripePayments
from commerce.domain.money import Money
from commerce.domain.payments.errors import PaymentProviderRejected, PaymentProviderUnavailable, RefundRejected
from commerce.domain.payments.models import IntentState
from commerce.domain.payments.ports import PaymentProvider
from localcloud.payments import FaultSpec
from tests.support.fakes.payments import InMemoryPaymentProvider
from tests.support.payments import SECRET_KEY, Served, served_sandbox

pytestmark = pytest.mark.integration

KEY_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:payments-api-key-AbCdEf"


@dataclass(frozen=True)
class Provider:
    port: PaymentProvider
    pay: Callable[[str], None]  # the customer pays the intent (it succeeds)
    fail_next_call: Callable[[], None]  # the provider is down for the next call, then recovers
    amount_of: Callable[[str], tuple[int, str, dict[str, str]]]  # amount, lower-case currency, metadata


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with served_sandbox() as served:
        yield served


def _memory() -> Provider:
    fake = InMemoryPaymentProvider()

    def amount_of(intent_id: str) -> tuple[int, str, dict[str, str]]:
        intent = fake.intents[intent_id]
        return intent.amount.amount, intent.amount.currency.lower(), dict(intent.metadata)

    return Provider(
        fake,
        fake.pay,
        lambda: fake.failures.append(PaymentProviderUnavailable("The payment provider is unavailable")),
        amount_of,
    )


def _stripe(served: Served) -> Provider:
    adapter = StripePayments(served.url, KEY_ARN, read_secret=lambda _arn: SECRET_KEY, forget_secret=lambda _arn: None)
    client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": served.url})

    def pay(intent_id: str) -> None:
        confirmed = requests.post(
            f"{served.url}/v1/payment_intents/{intent_id}/confirm",
            data={"payment_method": "pm_card_visa"},
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
            timeout=30,
        )
        assert confirmed.ok, confirmed.text

    def amount_of(intent_id: str) -> tuple[int, str, dict[str, str]]:
        intent = client.v1.payment_intents.retrieve(intent_id)
        return intent.amount, intent.currency, dict(intent.metadata.to_dict())

    def fail_next_call() -> None:
        served.sandbox.faults.add(FaultSpec(kind="error", status=503, count=1))

    return Provider(adapter, pay, fail_next_call, amount_of)


@pytest.fixture(params=["memory", "stripe"])
def provider(request: pytest.FixtureRequest) -> Iterator[Provider]:
    if request.param == "memory":
        yield _memory()
        return
    served: Served = request.getfixturevalue("served")
    yield _stripe(served)
    served.sandbox.faults.clear()


def _key() -> str:
    return f"k-{uuid.uuid4()}"


def test_an_intent_has_the_amount_the_metadata_and_a_client_secret(provider: Provider) -> None:
    # Given a checkout's amount and metadata
    metadata = {"checkout_id": "chk-1", "order_id": "ord-1"}
    # When an intent is created
    intent = provider.port.create_intent(Money(3300, "EUR"), metadata, _key())
    # Then it has an id, a client secret and the amount, and the provider holds the amount and metadata
    assert intent.intent_id.startswith("pi_")
    assert intent.client_secret
    assert intent.amount == Money(3300, "EUR")
    assert provider.amount_of(intent.intent_id) == (3300, "eur", metadata)


def test_the_same_idempotency_key_returns_the_same_intent(provider: Provider) -> None:
    # Given an intent created with a key
    key, metadata = _key(), {"checkout_id": "chk-2"}
    first = provider.port.create_intent(Money(500, "EUR"), metadata, key)
    # When it is created again with that key, and another intent with another key
    again = provider.port.create_intent(Money(500, "EUR"), metadata, key)
    other = provider.port.create_intent(Money(500, "EUR"), metadata, _key())
    # Then the same key gave the same intent, the other key a new one
    assert again == first
    assert other.intent_id != first.intent_id


def test_a_key_reused_with_another_amount_is_refused_not_retried(provider: Provider) -> None:
    # Given an intent created with a key
    key, metadata = _key(), {"checkout_id": "chk-3"}
    provider.port.create_intent(Money(500, "EUR"), metadata, key)
    # When the same key asks for another amount, Then the provider refuses it (no retry could change that)
    with pytest.raises(PaymentProviderRejected):
        provider.port.create_intent(Money(700, "EUR"), metadata, key)


def test_an_unpaid_intent_is_cancelled_and_cancelling_again_is_fine(provider: Provider) -> None:
    # Given an unpaid intent
    intent = provider.port.create_intent(Money(700, "EUR"), {}, _key())
    # When it is cancelled twice, Then it is CANCELED both times
    assert provider.port.cancel_intent(intent.intent_id) is IntentState.CANCELED
    assert provider.port.cancel_intent(intent.intent_id) is IntentState.CANCELED


def test_a_cancelled_intent_can_no_longer_be_paid(provider: Provider) -> None:
    # Given a cancelled intent
    intent = provider.port.create_intent(Money(700, "EUR"), {}, _key())
    provider.port.cancel_intent(intent.intent_id)
    # When it is refunded, Then the provider refuses: nothing was paid
    with pytest.raises(PaymentProviderRejected):
        provider.port.refund(intent.intent_id, {}, _key())


def test_a_paid_intent_cannot_be_cancelled_and_reports_succeeded(provider: Provider) -> None:
    # Given an intent the customer paid
    intent = provider.port.create_intent(Money(900, "EUR"), {}, _key())
    provider.pay(intent.intent_id)
    # When it is cancelled (twice), Then it reports SUCCEEDED: it must be refunded instead
    assert provider.port.cancel_intent(intent.intent_id) is IntentState.SUCCEEDED
    assert provider.port.cancel_intent(intent.intent_id) is IntentState.SUCCEEDED


def test_a_paid_intent_is_refunded_once_per_key_and_then_found_refunded(provider: Provider) -> None:
    # Given a paid intent
    intent = provider.port.create_intent(Money(1200, "EUR"), {}, _key())
    provider.pay(intent.intent_id)
    key = f"refund-{intent.intent_id}"
    # When it is refunded twice with the same key
    first = provider.port.refund(intent.intent_id, {"order_id": "ord-3"}, key)
    again = provider.port.refund(intent.intent_id, {"order_id": "ord-3"}, key)
    # Then the same refund comes back
    assert first.refund_id is not None
    assert first.refund_id.startswith("re_")
    assert first.intent_id == intent.intent_id
    assert again == first
    # When a refund is asked with another key, Then it is refunded already: no new refund, no refund id
    later = provider.port.refund(intent.intent_id, {}, _key())
    assert (later.refund_id, later.intent_id) == (None, intent.intent_id)


def test_an_unpaid_intent_cannot_be_refunded(provider: Provider) -> None:
    # Given an unpaid intent, When it is refunded, Then the provider refuses the refund itself (not worth
    # retrying), with Stripe's reason
    intent = provider.port.create_intent(Money(500, "EUR"), {}, _key())
    with pytest.raises(RefundRejected) as refused:
        provider.port.refund(intent.intent_id, {}, _key())
    assert isinstance(refused.value, PaymentProviderRejected)
    assert refused.value.reason == "charge_not_refundable"


def test_a_provider_that_is_down_is_unavailable_and_the_same_key_works_once_it_recovers(provider: Provider) -> None:
    # Given a provider that fails the next call
    key, metadata = _key(), {"checkout_id": "chk-4"}
    provider.fail_next_call()
    # When an intent is created, Then the error is PaymentProviderUnavailable (worth retrying)
    with pytest.raises(PaymentProviderUnavailable):
        provider.port.create_intent(Money(500, "EUR"), metadata, key)
    # When it is retried with the same key after the provider recovered, Then the intent is created once
    intent = provider.port.create_intent(Money(500, "EUR"), metadata, key)
    assert provider.port.create_intent(Money(500, "EUR"), metadata, key) == intent


def test_a_refund_while_the_provider_is_down_is_unavailable_and_retried_with_the_same_key(
    provider: Provider,
) -> None:
    # Given a paid intent and a provider that fails the next call
    intent = provider.port.create_intent(Money(800, "EUR"), {}, _key())
    provider.pay(intent.intent_id)
    key = f"refund-{intent.intent_id}"
    provider.fail_next_call()
    # When it is refunded, Then PaymentProviderUnavailable; retried with the key, Then it is refunded
    with pytest.raises(PaymentProviderUnavailable):
        provider.port.refund(intent.intent_id, {}, key)
    refund = provider.port.refund(intent.intent_id, {}, key)
    assert refund.refund_id is not None
