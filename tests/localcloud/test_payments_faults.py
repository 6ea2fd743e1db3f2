"""Provider faults in the sandbox, switched over `/_sandbox/`, as the official `stripe` package experiences them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import requests
import stripe
from stripe.params import PaymentIntentCreateParams

from localcloud.payments import PaymentsSandbox, SandboxSwitches
from localcloud.payments.switches import SWITCHES_ENV
from localcloud.server import BackgroundServer
from tests.support.payments import Served, replayed, served_sandbox, stripe_client

pytestmark = pytest.mark.localcloud


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Served]:
    with served_sandbox() as served:
        yield served


@pytest.fixture
def served(sandbox: Served) -> Iterator[Served]:
    # Tests share one sandbox (its data never collides); each starts and ends with every switch off.
    requests.post(f"{sandbox.url}/_sandbox/reset", timeout=30).raise_for_status()
    yield sandbox
    requests.post(f"{sandbox.url}/_sandbox/reset", timeout=30).raise_for_status()


def _add_fault(served: Served, **fault: object) -> dict[str, object]:
    answer = requests.post(f"{served.url}/_sandbox/faults", data=json.dumps(fault), timeout=30)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _intents_created_for(client: stripe.StripeClient, checkout_id: str) -> int:
    events = client.v1.events.list({"type": "payment_intent.created", "limit": 100}).data
    return sum(1 for event in events if event.to_dict()["data"]["object"]["metadata"].get("checkout_id") == checkout_id)


def test_error_fault_makes_the_client_raise_api_error_then_clears(served: Served) -> None:
    # Given a 500 for the next request
    _add_fault(served, kind="error", status=500, count=1)
    client = stripe_client(served.url, retries=0)
    checkout_id = str(uuid.uuid4())

    # When the client creates an intent twice
    with pytest.raises(stripe.APIError) as raised:
        client.v1.payment_intents.create({"amount": 1000, "currency": "usd", "metadata": {"checkout_id": checkout_id}})
    intent = client.v1.payment_intents.create(
        {"amount": 1000, "currency": "usd", "metadata": {"checkout_id": checkout_id}}
    )

    # Then the first raised APIError (500, nothing done) and the second worked
    assert raised.value.http_status == 500
    assert intent.status == "requires_payment_method"
    assert _intents_created_for(client, checkout_id) == 1
    assert requests.get(f"{served.url}/_sandbox/faults", timeout=30).json() == {"data": []}


def test_stripe_retries_through_provider_errors_and_creates_one_intent(served: Served) -> None:
    # Given 503s for the next two requests and a client allowed two network retries
    _add_fault(served, kind="error", status=503, count=2)
    client = stripe_client(served.url, retries=2)
    checkout_id = str(uuid.uuid4())

    # When it creates an intent once (stripe retries with the same idempotency key)
    intent = client.v1.payment_intents.create(
        {"amount": 1000, "currency": "usd", "metadata": {"checkout_id": checkout_id}}
    )

    # Then it succeeded on the third attempt and exactly one intent exists
    assert intent.status == "requires_payment_method"
    assert _intents_created_for(client, checkout_id) == 1


def test_path_fault_fails_only_that_endpoint_until_cleared(served: Served) -> None:
    # Given refunds failing with 502 until further notice
    _add_fault(served, kind="error", status=502, count=None, path="/v1/refunds")
    client = stripe_client(served.url)
    intent = client.v1.payment_intents.create({"amount": 1000, "currency": "usd"})
    client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})

    # When refunds are tried twice, then again after the faults are cleared
    for _ in range(2):
        with pytest.raises(stripe.APIError):
            client.v1.refunds.create({"payment_intent": intent.id})
    assert requests.delete(f"{served.url}/_sandbox/faults", timeout=30).status_code == 200
    refund = client.v1.refunds.create({"payment_intent": intent.id})

    # Then the other endpoints kept working, and the refund worked once the fault was gone
    assert refund.amount == 1000


def test_timeout_fault_loses_the_request(served: Served) -> None:
    # Given the next request is held (far longer than the client waits) and then dropped
    _add_fault(served, kind="timeout", seconds=60, count=1)
    impatient = stripe_client(served.url, retries=0, timeout=0.5)
    client = stripe_client(served.url)
    checkout_id = str(uuid.uuid4())
    params: PaymentIntentCreateParams = {
        "amount": 1000,
        "currency": "usd",
        "metadata": {"checkout_id": checkout_id},
    }
    key = f"checkout-{checkout_id}"

    # When the client gives up waiting, the hold is released, and the call is retried with its key
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.payment_intents.create(params, {"idempotency_key": key})
    requests.delete(f"{served.url}/_sandbox/faults", timeout=30)
    intent = client.v1.payment_intents.create(params, {"idempotency_key": key})

    # Then the lost request did nothing: the retry created the one and only intent
    assert replayed(intent) is None
    assert _intents_created_for(client, checkout_id) == 1


def test_slow_fault_does_the_work_and_stripes_retry_gets_the_replay(served: Served) -> None:
    # Given the next answer is held after the work is done, and a client that times out and retries once
    _add_fault(served, kind="slow", seconds=60, count=1)
    client = stripe_client(served.url, retries=1, timeout=2.0)
    checkout_id = str(uuid.uuid4())

    # When the client creates an intent (its first attempt times out; the retry reuses the idempotency key)
    intent = client.v1.payment_intents.create(
        {"amount": 1000, "currency": "usd", "metadata": {"checkout_id": checkout_id}}
    )
    requests.delete(f"{served.url}/_sandbox/faults", timeout=30)

    # Then the retry got the saved answer of the first attempt: one intent, replayed
    assert replayed(intent) == "true"
    assert _intents_created_for(stripe_client(served.url), checkout_id) == 1


def test_switches_from_the_environment() -> None:
    # Given LOCALCLOUD_PAYMENTS_SWITCHES asking for one 503 and paused webhooks
    environ = {SWITCHES_ENV: json.dumps({"faults": [{"status": 503}], "webhooks": {"paused": True}})}
    sandbox = PaymentsSandbox(secret_key="sk_test_env", switches=SandboxSwitches.from_env(environ))

    # When the sandbox is served and called twice
    with BackgroundServer(sandbox, name="payments-env") as server, sandbox:
        client = stripe_client(server.url, key="sk_test_env")
        with pytest.raises(stripe.APIError) as raised:
            client.v1.payment_intents.create({"amount": 1000, "currency": "usd"})
        client.v1.payment_intents.create({"amount": 1000, "currency": "usd"})
        state = requests.get(f"{server.url}/_sandbox/switches", timeout=30).json()

    # Then the first call met the fault, and the webhook switch is on
    assert raised.value.http_status == 503
    assert state == {"faults": [], "webhooks": {"paused": True, "duplicates": 0, "out_of_order": False, "lost": 0.0}}


def test_malformed_switches_in_the_environment_name_the_variable() -> None:
    # Given / When the variable holds an unknown fault kind, Then the error says which variable is wrong
    with pytest.raises(ValueError, match=SWITCHES_ENV):
        SandboxSwitches.from_env({SWITCHES_ENV: '{"faults": [{"kind": "meltdown"}]}'})


@pytest.mark.parametrize(
    "fault",
    [{"kind": "meltdown"}, {"status": 404}, {"count": 0}, {"seconds": -1}, {"path": "v1"}, {"colour": "red"}],
)
def test_invalid_faults_are_rejected(served: Served, fault: dict[str, object]) -> None:
    # Given / When an invalid fault is posted
    answer = requests.post(f"{served.url}/_sandbox/faults", data=json.dumps(fault), timeout=30)

    # Then it is a 400 and nothing was switched on
    assert answer.status_code == 400
    assert requests.get(f"{served.url}/_sandbox/faults", timeout=30).json() == {"data": []}


def test_reset_clears_faults_and_webhook_switches(served: Served) -> None:
    # Given a fault and webhook switches
    _add_fault(served, count=None)
    requests.patch(f"{served.url}/_sandbox/webhooks", data='{"duplicates": 2, "out_of_order": true}', timeout=30)

    # When the sandbox is reset
    answer = requests.post(f"{served.url}/_sandbox/reset", timeout=30)

    # Then every switch is back to its default
    assert answer.json() == {
        "faults": [],
        "webhooks": {"paused": False, "duplicates": 0, "out_of_order": False, "lost": 0.0},
    }


def test_put_switches_replaces_faults_and_webhook_settings(served: Served) -> None:
    # Given an existing fault
    _add_fault(served, kind="error", count=None, path="/v1/refunds")

    # When the whole set of switches is replaced
    answer = requests.put(
        f"{served.url}/_sandbox/switches",
        data=json.dumps({"faults": [{"kind": "slow", "seconds": 1, "count": 3}], "webhooks": {"duplicates": 2}}),
        timeout=30,
    )

    # Then only the new fault is active, with its own id and count, and the webhook settings are the new ones
    state = answer.json()
    assert answer.status_code == 200
    assert [(f["kind"], f["remaining"], f["path"]) for f in state["faults"]] == [("slow", 3, None)]
    assert str(state["faults"][0]["id"]).startswith("fault_")
    assert state["webhooks"] == {"paused": False, "duplicates": 2, "out_of_order": False, "lost": 0.0}
