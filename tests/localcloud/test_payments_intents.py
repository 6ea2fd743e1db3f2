"""Payment intents in the sandbox, driven through the official `stripe` package as the backend drives Stripe."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests
import stripe
from stripe.params import PaymentIntentCreateParams

from tests.support.payments import SECRET_KEY, Served, replayed, served_sandbox, stripe_client

pytestmark = pytest.mark.localcloud


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    # One sandbox for the module: every test makes its own intents and keys, so they cannot interfere.
    with served_sandbox() as served:
        yield served


@pytest.fixture
def client(served: Served) -> stripe.StripeClient:
    return stripe_client(served.url)


def _created_events(client: stripe.StripeClient, intent_id: str) -> list[stripe.Event]:
    events = client.v1.events.list({"type": "payment_intent.created", "limit": 100})
    return [event for event in events.data if event.data.object["id"] == intent_id]


def test_same_idempotency_key_and_params_create_one_intent(client: stripe.StripeClient) -> None:
    # Given an idempotency key derived from a checkout
    key = f"checkout-{uuid.uuid4()}"
    params: PaymentIntentCreateParams = {
        "amount": 4200,
        "currency": "EUR",
        "metadata": {"checkout_id": "c1", "order_id": "o1"},
        "automatic_payment_methods": {"enabled": True},
    }

    # When the intent is created twice with that key and the same params
    first = client.v1.payment_intents.create(params, {"idempotency_key": key})
    second = client.v1.payment_intents.create(params, {"idempotency_key": key})

    # Then both answers are the same intent, the second one replayed, and only one intent was created
    assert second.id == first.id
    assert second.client_secret == first.client_secret
    assert replayed(first) is None
    assert replayed(second) == "true"
    assert (first.amount, first.currency, first.status) == (4200, "eur", "requires_payment_method")
    assert first.metadata.to_dict() == {"checkout_id": "c1", "order_id": "o1"}
    assert str(first.client_secret).startswith(f"{first.id}_secret_")
    assert len(_created_events(client, first.id)) == 1


def test_same_idempotency_key_with_other_params_is_an_idempotency_error(client: stripe.StripeClient) -> None:
    # Given an intent created with a key
    key = f"checkout-{uuid.uuid4()}"
    client.v1.payment_intents.create({"amount": 1000, "currency": "usd"}, {"idempotency_key": key})

    # When the key is reused with another amount
    with pytest.raises(stripe.IdempotencyError) as raised:
        client.v1.payment_intents.create({"amount": 2000, "currency": "usd"}, {"idempotency_key": key})

    # Then Stripe's 400 idempotency_error comes back
    assert raised.value.http_status == 400
    assert raised.value.error is not None
    assert raised.value.error.type == "idempotency_error"


def test_a_key_whose_request_failed_validation_can_be_used_again(client: stripe.StripeClient) -> None:
    # Given a create rejected before it ran (no currency)
    key = f"checkout-{uuid.uuid4()}"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.create({"amount": 1000}, {"idempotency_key": key})  # type: ignore[typeddict-item]
    assert (raised.value.code, raised.value.param) == ("parameter_missing", "currency")

    # When the same key is used with corrected params
    intent = client.v1.payment_intents.create({"amount": 1000, "currency": "usd"}, {"idempotency_key": key})

    # Then it runs, as Stripe saves no result for a request that failed validation
    assert intent.status == "requires_payment_method"


def test_confirm_with_pm_card_visa_succeeds_with_a_charge(client: stripe.StripeClient) -> None:
    # Given a new intent
    intent = client.v1.payment_intents.create({"amount": 1999, "currency": "usd", "metadata": {"order_id": "o7"}})

    # When it is confirmed with Stripe's test Visa
    confirmed = client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})

    # Then it succeeded, received the amount, and its latest charge was paid in full
    assert confirmed.status == "succeeded"
    assert confirmed.amount_received == 1999
    assert isinstance(confirmed.latest_charge, str)
    assert confirmed.latest_charge.startswith("ch_")
    charge = client.v1.charges.retrieve(confirmed.latest_charge)
    assert (charge.status, charge.paid, charge.amount, charge.amount_refunded) == ("succeeded", True, 1999, 0)
    assert charge.payment_intent == intent.id
    assert charge.metadata.to_dict() == {"order_id": "o7"}
    method = client.v1.payment_methods.retrieve(str(confirmed.payment_method))
    assert method.card is not None
    assert (method.card.brand, method.card.last4) == ("visa", "4242")


def test_confirm_with_a_declining_card_raises_card_error(client: stripe.StripeClient) -> None:
    # Given a new intent
    intent = client.v1.payment_intents.create({"amount": 1500, "currency": "usd"})

    # When it is confirmed with Stripe's declining test card
    with pytest.raises(stripe.CardError) as raised:
        client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_chargeDeclined"})

    # Then stripe raises CardError (402, card_declined / generic_decline) and the intent waits for another method
    error = raised.value
    assert error.http_status == 402
    assert error.code == "card_declined"
    assert error.error is not None
    assert error.error.decline_code == "generic_decline"
    assert error.error.payment_intent is not None
    assert error.error.payment_intent.id == intent.id
    after = client.v1.payment_intents.retrieve(intent.id)
    assert after.status == "requires_payment_method"
    assert after.last_payment_error is not None
    assert (after.last_payment_error.code, after.last_payment_error.decline_code) == (
        "card_declined",
        "generic_decline",
    )
    failed_charge = client.v1.charges.retrieve(str(after.latest_charge))
    assert (failed_charge.status, failed_charge.paid, failed_charge.failure_code) == ("failed", False, "card_declined")


def test_a_declined_intent_can_be_paid_with_another_card(client: stripe.StripeClient) -> None:
    # Given an intent whose first card was declined for insufficient funds
    intent = client.v1.payment_intents.create({"amount": 1500, "currency": "usd"})
    with pytest.raises(stripe.CardError) as raised:
        client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_chargeDeclinedInsufficientFunds"})
    assert raised.value.error is not None
    assert raised.value.error.decline_code == "insufficient_funds"

    # When it is confirmed again with a good card
    confirmed = client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_mastercard"})

    # Then it succeeds and the earlier error is cleared
    assert confirmed.status == "succeeded"
    assert confirmed.last_payment_error is None


def test_create_with_confirm_true_charges_at_once(client: stripe.StripeClient) -> None:
    # Given / When an intent is created and confirmed in one call
    intent = client.v1.payment_intents.create(
        {"amount": 500, "currency": "gbp", "payment_method": "pm_card_visa", "confirm": True}
    )

    # Then it has already succeeded
    assert intent.status == "succeeded"
    assert intent.amount_received == 500


def test_confirm_by_client_secret_without_the_secret_key(served: Served, client: stripe.StripeClient) -> None:
    # Given an intent whose client_secret went to the storefront
    intent = client.v1.payment_intents.create({"amount": 2500, "currency": "usd"})

    # When the browser confirms it with only the client_secret (no secret key), as API.md documents
    answer = requests.post(
        f"{served.url}/v1/payment_intents/{intent.id}/confirm",
        data={"payment_method": "pm_card_visa", "client_secret": intent.client_secret},
        timeout=30,
    )

    # Then the payment succeeds
    assert answer.status_code == 200
    assert answer.json()["status"] == "succeeded"
    assert answer.json()["object"] == "payment_intent"


def test_confirm_with_a_wrong_client_secret_is_rejected(served: Served, client: stripe.StripeClient) -> None:
    # Given an intent
    intent = client.v1.payment_intents.create({"amount": 2500, "currency": "usd"})

    # When a confirm carries another intent's secret with the publishable key
    answer = requests.post(
        f"{served.url}/v1/payment_intents/{intent.id}/confirm",
        data={"payment_method": "pm_card_visa", "client_secret": f"{intent.id}_secret_forged"},
        headers={"Authorization": "Bearer pk_test_localcloud"},
        timeout=30,
    )

    # Then it is refused and the intent is unchanged
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "client_secret"
    assert client.v1.payment_intents.retrieve(intent.id).status == "requires_payment_method"


def test_requests_without_an_api_key_get_401(served: Served) -> None:
    # Given / When a create arrives with no Authorization header
    answer = requests.post(f"{served.url}/v1/payment_intents", data={"amount": "100", "currency": "usd"}, timeout=30)

    # Then it is a 401 in Stripe's error shape
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "invalid_request_error"
    assert "API key" in answer.json()["error"]["message"]


def test_a_wrong_secret_key_raises_authentication_error(served: Served) -> None:
    # Given a client with another account's key
    client = stripe_client(served.url, key="sk_test_someone_else")

    # When it calls the API, Then stripe raises AuthenticationError
    with pytest.raises(stripe.AuthenticationError) as raised:
        client.v1.payment_intents.create({"amount": 1000, "currency": "usd"})
    assert raised.value.http_status == 401


def test_cancel_a_pending_intent(client: stripe.StripeClient) -> None:
    # Given an unpaid intent
    intent = client.v1.payment_intents.create({"amount": 1000, "currency": "usd"})

    # When it is canceled as abandoned
    canceled = client.v1.payment_intents.cancel(intent.id, {"cancellation_reason": "abandoned"})

    # Then its status and reason are Stripe's, and it can no longer be confirmed
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "abandoned")
    assert canceled.canceled_at is not None
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})
    assert raised.value.code == "payment_intent_unexpected_state"


def test_a_succeeded_intent_cannot_be_canceled(client: stripe.StripeClient) -> None:
    # Given a paid intent
    intent = client.v1.payment_intents.create({"amount": 1000, "currency": "usd"})
    client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})

    # When it is canceled
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.cancel(intent.id)

    # Then Stripe's 400 payment_intent_unexpected_state comes back and it stays succeeded
    assert raised.value.http_status == 400
    assert raised.value.code == "payment_intent_unexpected_state"
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_retrieve_returns_the_stored_intent_and_404s_unknown_ids(client: stripe.StripeClient) -> None:
    # Given an intent
    intent = client.v1.payment_intents.create({"amount": 1000, "currency": "usd", "description": "Order o9"})

    # When it and an unknown id are retrieved
    found = client.v1.payment_intents.retrieve(intent.id)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.retrieve("pi_doesnotexist")

    # Then the first is the same object and the second is Stripe's 404 resource_missing
    assert (found.id, found.amount, found.description, found.object) == (intent.id, 1000, "Order o9", "payment_intent")
    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")


def test_update_merges_metadata_and_unsets_empty_values(client: stripe.StripeClient) -> None:
    # Given an intent with two metadata keys
    intent = client.v1.payment_intents.create(
        {"amount": 1000, "currency": "usd", "metadata": {"order_id": "o1", "note": "gift"}}
    )

    # When it is updated with a new key and an empty value for "note"
    updated = client.v1.payment_intents.update(intent.id, {"metadata": {"checkout_id": "c1", "note": ""}})

    # Then the keys merge and "note" is gone, as in Stripe
    assert updated.metadata.to_dict() == {"order_id": "o1", "checkout_id": "c1"}


def test_expand_latest_charge(client: stripe.StripeClient) -> None:
    # Given a paid intent
    intent = client.v1.payment_intents.create({"amount": 1000, "currency": "usd"})
    client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})

    # When it is retrieved with expand[]=latest_charge
    expanded = client.v1.payment_intents.retrieve(intent.id, {"expand": ["latest_charge"]})

    # Then latest_charge is the charge object
    assert isinstance(expanded.latest_charge, stripe.Charge)
    assert expanded.latest_charge.amount == 1000


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"amount": 10, "currency": "usd"}, "amount_too_small", "amount"),
        ({"amount": 1000, "currency": "usd", "colour": "red"}, "parameter_unknown", "colour"),
        ({"amount": 1000, "currency": "usd", "capture_method": "manual"}, None, "capture_method"),
        (
            {
                "amount": 1000,
                "currency": "usd",
                "payment_method_types": ["card"],
                "automatic_payment_methods": {"enabled": True},
            },
            "parameters_exclusive",
            "automatic_payment_methods",
        ),
    ],
)
def test_invalid_create_params_are_rejected(
    client: stripe.StripeClient, params: dict[str, object], code: str | None, param: str
) -> None:
    # Given / When a create with invalid params
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.create(params)  # type: ignore[arg-type]

    # Then it is Stripe's 400 naming the param
    assert raised.value.http_status == 400
    assert (raised.value.code, raised.value.param) == (code, param)


def test_unknown_paths_are_404_in_stripe_shape(served: Served) -> None:
    # Given / When an endpoint the sandbox does not implement is called
    answer = requests.get(f"{served.url}/v1/customers", headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=30)

    # Then it is Stripe's "Unrecognized request URL" 404
    assert answer.status_code == 404
    assert answer.json()["error"]["message"].startswith("Unrecognized request URL (GET: /v1/customers)")


def test_http_basic_auth_with_the_key_as_user_works_like_curl_u(served: Served) -> None:
    # Given / When a create authenticated the way `curl -u sk_test_...:` does
    answer = requests.post(
        f"{served.url}/v1/payment_intents",
        data={"amount": "1000", "currency": "usd", "metadata[order_id]": "o1"},
        auth=(SECRET_KEY, ""),
        timeout=30,
    )

    # Then it is accepted and the nested form key became metadata
    assert answer.status_code == 200
    assert answer.json()["metadata"] == {"order_id": "o1"}


def test_the_publishable_key_reads_an_intent_only_with_its_client_secret(
    served: Served, client: stripe.StripeClient
) -> None:
    # Given an intent and the publishable key a browser holds
    intent = client.v1.payment_intents.create({"amount": 1000, "currency": "usd"})
    browser = {"Authorization": "Bearer pk_test_localcloud"}

    # When the browser reads it with and without the client_secret, and tries to create one
    with_secret = requests.get(
        f"{served.url}/v1/payment_intents/{intent.id}",
        params={"client_secret": intent.client_secret},
        headers=browser,
        timeout=30,
    )
    without_secret = requests.get(f"{served.url}/v1/payment_intents/{intent.id}", headers=browser, timeout=30)
    create = requests.post(
        f"{served.url}/v1/payment_intents", data={"amount": "1000", "currency": "usd"}, headers=browser, timeout=30
    )

    # Then only the read with the client_secret is allowed
    assert with_secret.status_code == 200
    assert with_secret.json()["id"] == intent.id
    assert (without_secret.status_code, create.status_code) == (401, 401)
