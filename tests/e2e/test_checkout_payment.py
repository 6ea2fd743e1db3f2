"""Checkout and payment over HTTP, the way a storefront, its customer's browser, Stripe and an operator do it,
against a local cloud of our own: the workflow (Step Functions), the payments sandbox and its signed webhooks.

The cloud runs 60x faster with a payment timeout of an hour (a minute of real time): long enough that no paying
test ever races it. Expiry has its own cloud (test_checkout_payment_expiry.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Api
from tests.support.local_cloud import RunningCloud, run_local_cloud
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

SANDBOX_KEY = "sk_test_localcloud"  # the sandbox's well-known test key (localcloud.payments)
SETTLE_SECONDS = 60.0
FINAL = ("COMPLETED", "FAILED", "EXPIRED")
ADDRESS = {"name": "Ada Lovelace", "line1": "12 Analytical St", "city": "London", "postalCode": "N1", "country": "GB"}


@pytest.fixture(scope="module")
def cloud() -> Iterator[RunningCloud]:
    yield from run_local_cloud("--time-scale", "60", "--parameter", "PaymentTimeoutSeconds=3600")


@dataclass
class Shopper:
    """A storefront session with a cart, checking out, and paying in its browser."""

    api: Api
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Session-Token": self.token}

    @property
    def payments_url(self) -> str:
        return str(self.api.cloud.outputs["PaymentsApiUrl"])

    def add(self, sku: str, quantity: int) -> None:
        added = self.api.call("POST", "/cart/lines", json={"sku": sku, "quantity": quantity}, headers=self.headers)
        assert added.status_code == 200, added.text

    def check_out(self) -> dict[str, Any]:
        headers = {**self.headers, "Idempotency-Key": str(uuid.uuid4())}
        accepted = self.api.call(
            "POST", "/checkouts", json={"email": "ada@example.com", "shippingAddress": ADDRESS}, headers=headers
        )
        assert accepted.status_code == 202, accepted.text
        return dict(accepted.json())

    def checkout(self, checkout_id: str) -> dict[str, Any]:
        answer = self.api.call("GET", f"/checkouts/{checkout_id}", headers=self.headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def wait_for(self, checkout_id: str, *statuses: str) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            checkout = self.checkout(checkout_id)
            return checkout if checkout["status"] in statuses else None

        found: dict[str, Any] = wait_until(reached, f"checkout {checkout_id} to be {statuses}", deadline=SETTLE_SECONDS)
        return found

    def pay(self, checkout: dict[str, Any], method: str = "pm_card_visa") -> requests.Response:
        """Confirm the intent in the browser: the client secret authorises it, no API key."""
        payment = checkout["payment"]
        return requests.post(
            f"{self.payments_url}/v1/payment_intents/{payment['intentId']}/confirm",
            data={"payment_method": method, "client_secret": payment["clientSecret"]},
            timeout=30,
        )

    def order(self, order_id: str) -> dict[str, Any]:
        answer = self.api.call("GET", f"/orders/{order_id}", headers=self.headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def cart_skus(self) -> set[str]:
        return {line["sku"] for line in self.api.call("GET", "/cart", headers=self.headers).json()["lines"]}


@pytest.fixture(scope="module")
def api(cloud: RunningCloud) -> Api:
    return Api(cloud)


@pytest.fixture
def shopper(api: Api) -> Shopper:
    return Shopper(api, api.new_session())


def stock(api: Api, sku: str) -> dict[str, int]:
    return dict(api.call("GET", f"/admin/inventory/{sku}", headers=api.operator()).json())


def sandbox(api: Api, method: str, path: str, **kwargs: Any) -> Any:
    answer = requests.request(method, f"{api.cloud.outputs['PaymentsApiUrl']}{path}", timeout=30, **kwargs)
    assert answer.ok, answer.text
    return answer.json()


def provider(api: Api, path: str) -> Any:
    """A Stripe object, read with the sandbox's secret key as the backend would."""
    return sandbox(api, "GET", path, headers={"Authorization": f"Bearer {SANDBOX_KEY}"})


def refunded_amount(api: Api, intent_id: str) -> int:
    intent = provider(api, f"/v1/payment_intents/{intent_id}")
    return int(provider(api, f"/v1/charges/{intent['latest_charge']}")["amount_refunded"])


def admin_checkout(api: Api, checkout_id: str) -> dict[str, Any]:
    answer = api.call("GET", f"/admin/checkouts/{checkout_id}", headers=api.operator())
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def settled_execution(api: Api, checkout_id: str) -> dict[str, Any]:
    def stopped() -> dict[str, Any] | None:
        execution = admin_checkout(api, checkout_id)["execution"]
        return execution if execution and execution["status"] != "RUNNING" else None

    found: dict[str, Any] = wait_until(stopped, f"the execution of {checkout_id} to stop", deadline=SETTLE_SECONDS)
    return found


def awaiting_payment(api: Api, shopper: Shopper, quantity: int = 2, on_hand: int = 5) -> tuple[dict[str, Any], str]:
    """A fresh product in the shopper's cart, checked out and waiting for payment: (checkout, sku)."""
    sku = api.create_product(on_hand=on_hand, price=1500)["sku"]
    shopper.add(sku, quantity)
    accepted = shopper.check_out()
    assert accepted["status"] in ("QUEUED", "PROCESSING", "AWAITING_PAYMENT")
    return shopper.wait_for(accepted["checkoutId"], "AWAITING_PAYMENT", *FINAL), sku


# ---------------------------------------------------------------------------------------------- paying


def test_a_paid_checkout_completes_its_order_is_paid_and_its_stock_committed(api: Api, shopper: Shopper) -> None:
    # Given a checkout of 2 units awaiting payment
    checkout, sku = awaiting_payment(api, shopper)
    assert checkout["status"] == "AWAITING_PAYMENT"
    assert checkout["payment"]["provider"] == "stripe"
    assert stock(api, sku) == {
        "sku": sku,
        "onHand": 5,
        "reserved": 2,
        "available": 3,
        "shards": 1,
        "purchaseLimit": None,
    }
    # When the customer pays in the browser
    assert shopper.pay(checkout).status_code == 200
    # Then the webhook completes the checkout: the order is PAID, the units left the shelf, the cart is empty
    completed = shopper.wait_for(checkout["checkoutId"], *FINAL)
    assert (completed["status"], completed["failure"]) == ("COMPLETED", None)
    order = shopper.order(checkout["orderId"])
    assert order["status"] == "PAID"
    assert order["total"] == {"amount": 3000, "currency": "EUR"}
    assert stock(api, sku) == {
        "sku": sku,
        "onHand": 3,
        "reserved": 0,
        "available": 3,
        "shards": 1,
        "purchaseLimit": None,
    }
    assert sku not in shopper.cart_skus()
    # And the operator sees the execution's two steps, all succeeded
    execution = settled_execution(api, checkout["checkoutId"])
    assert (execution["name"], execution["status"]) == (checkout["checkoutId"], "SUCCEEDED")
    assert [(s["name"], s["status"]) for s in execution["steps"]] == [
        ("RequestPayment", "SUCCEEDED"),
        ("Complete", "SUCCEEDED"),
    ]


def test_a_declined_payment_fails_the_checkout_and_gives_the_stock_back(api: Api, shopper: Shopper) -> None:
    # Given a checkout awaiting payment
    checkout, sku = awaiting_payment(api, shopper)
    # When the card is declined
    assert shopper.pay(checkout, "pm_card_chargeDeclined").status_code == 402
    # Then the checkout FAILED for that reason, the stock is available again, the order CANCELLED
    failed = shopper.wait_for(checkout["checkoutId"], *FINAL)
    assert failed["status"] == "FAILED"
    assert failed["failure"]["code"] == "PAYMENT_DECLINED"
    assert stock(api, sku) == {
        "sku": sku,
        "onHand": 5,
        "reserved": 0,
        "available": 5,
        "shards": 1,
        "purchaseLimit": None,
    }
    assert shopper.order(checkout["orderId"])["status"] == "CANCELLED"
    # And nobody can pay that intent any more
    assert shopper.pay(checkout).status_code == 400
    # And the execution succeeded (a decline is no fault) after compensating the caught decline
    execution = settled_execution(api, checkout["checkoutId"])
    assert execution["status"] == "SUCCEEDED"
    steps = {s["name"]: s for s in execution["steps"]}
    assert steps["RequestPayment"]["status"] == "FAILED"
    assert steps["RequestPayment"]["error"]["error"] == "PaymentDeclined"
    assert steps["Compensate"]["status"] == "SUCCEEDED"


def test_provider_errors_are_retried_and_the_checkout_still_completes(api: Api, shopper: Shopper) -> None:
    # Given a provider that answers 503 to the next two requests creating a payment intent
    sandbox(
        api,
        "POST",
        "/_sandbox/faults",
        json={"kind": "error", "status": 503, "count": 2, "path": "/v1/payment_intents", "method": "POST"},
    )
    try:
        # When a checkout is placed, Then the workflow retries until the intent exists
        checkout, sku = awaiting_payment(api, shopper, quantity=1)
        assert checkout["status"] == "AWAITING_PAYMENT"
        assert sandbox(api, "GET", "/_sandbox/faults")["data"] == []  # both 503s were spent on it
    finally:
        sandbox(api, "DELETE", "/_sandbox/faults")
    # When the customer pays, Then it completes as if nothing had happened
    assert shopper.pay(checkout).status_code == 200
    assert shopper.wait_for(checkout["checkoutId"], *FINAL)["status"] == "COMPLETED"
    assert stock(api, sku)["onHand"] == 4
    steps = {s["name"]: s for s in settled_execution(api, checkout["checkoutId"])["steps"]}
    assert (steps["RequestPayment"]["status"], steps["RequestPayment"]["error"]) == ("SUCCEEDED", None)


def test_duplicate_and_reordered_webhooks_complete_the_checkout_once(api: Api, shopper: Shopper) -> None:
    # Given a provider that sends every event twice, each intent's events newest first
    sandbox(api, "PATCH", "/_sandbox/webhooks", json={"duplicates": 1, "out_of_order": True})
    try:
        checkout, sku = awaiting_payment(api, shopper)
        # When the customer pays
        assert shopper.pay(checkout).status_code == 200
        completed = shopper.wait_for(checkout["checkoutId"], *FINAL)
    finally:
        sandbox(api, "PATCH", "/_sandbox/webhooks", json={"duplicates": 0, "out_of_order": False})
    # Then the checkout completed once: one payment event on the order, the stock committed once
    assert completed["status"] == "COMPLETED"
    events = [e["type"] for e in shopper.order(checkout["orderId"])["events"]]
    assert events.count("PaymentSucceeded") == 1
    assert stock(api, sku) == {
        "sku": sku,
        "onHand": 3,
        "reserved": 0,
        "available": 3,
        "shards": 1,
        "purchaseLimit": None,
    }
    # And both copies of the success were answered 200
    intent_id = checkout["payment"]["intentId"]

    def both_copies() -> list[dict[str, Any]] | None:
        query = {"object_id": intent_id, "event_type": "payment_intent.succeeded"}
        attempts = sandbox(api, "GET", "/_sandbox/webhooks/deliveries", params=query)["data"]
        return attempts if len(attempts) >= 2 else None

    attempts = wait_until(both_copies, "both deliveries of the success")
    assert {a["event_id"] for a in attempts} == {attempts[0]["event_id"]}
    assert [a["status"] for a in attempts] == [200, 200]


def test_a_payment_that_succeeds_after_a_decline_is_refunded_automatically(api: Api, shopper: Shopper) -> None:
    # Given webhooks held back while the customer's card is declined and a second card then succeeds
    checkout, sku = awaiting_payment(api, shopper, quantity=1)
    sandbox(api, "POST", "/_sandbox/webhooks/pause")
    try:
        assert shopper.pay(checkout, "pm_card_chargeDeclined").status_code == 402
        assert shopper.pay(checkout).status_code == 200
    finally:
        sandbox(api, "POST", "/_sandbox/webhooks/resume")
    # When both events arrive (the decline first), Then the checkout FAILED on the decline
    failed = shopper.wait_for(checkout["checkoutId"], *FINAL)
    assert (failed["status"], failed["failure"]["code"]) == ("FAILED", "PAYMENT_DECLINED")
    # And the money of the late success went back, in full, once; the stock is free; the order CANCELLED
    intent_id = checkout["payment"]["intentId"]
    wait_until(lambda: refunded_amount(api, intent_id) > 0, "the late payment's refund")
    assert refunded_amount(api, intent_id) == 1500
    assert stock(api, sku)["reserved"] == 0
    assert shopper.order(checkout["orderId"])["status"] == "CANCELLED"


def test_a_webhook_with_a_tampered_signature_is_refused(api: Api) -> None:
    # Given a payment event body that Stripe never signed
    body = '{"id": "evt_forged", "object": "event", "type": "payment_intent.succeeded", "data": {"object": {}}}'
    headers = {"Content-Type": "application/json", "Stripe-Signature": "t=1795341600,v1=" + "0" * 64}
    # When it is posted to the webhook, Then 400 BAD_SIGNATURE
    answer = api.call("POST", "/webhooks/payments/stripe", data=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["code"] == "BAD_SIGNATURE"
    # And without any signature, the same
    unsigned = api.call("POST", "/webhooks/payments/stripe", data=body, headers={"Content-Type": "application/json"})
    assert (unsigned.status_code, unsigned.json()["code"]) == (400, "BAD_SIGNATURE")


# ---------------------------------------------------------------------------------------------- money back


def paid(api: Api, shopper: Shopper) -> tuple[dict[str, Any], str]:
    checkout, sku = awaiting_payment(api, shopper)
    assert shopper.pay(checkout).status_code == 200
    assert shopper.wait_for(checkout["checkoutId"], *FINAL)["status"] == "COMPLETED"
    return checkout, sku


def test_an_operator_refunds_a_paid_order(api: Api, shopper: Shopper) -> None:
    # Given a paid order of 2 units
    checkout, sku = paid(api, shopper)
    assert stock(api, sku)["onHand"] == 3
    # When an operator refunds it
    answer = api.call("POST", f"/admin/orders/{checkout['orderId']}/refund", headers=api.operator())
    # Then the order is REFUNDED, the provider refunded the whole payment, and the units are back on the shelf
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "REFUNDED"
    assert refunded_amount(api, checkout["payment"]["intentId"]) == 3000
    assert stock(api, sku) == {
        "sku": sku,
        "onHand": 5,
        "reserved": 0,
        "available": 5,
        "shards": 1,
        "purchaseLimit": None,
    }
    # When it is refunded again, Then 409 and nothing more happens
    again = api.call("POST", f"/admin/orders/{checkout['orderId']}/refund", headers=api.operator())
    assert (again.status_code, again.json()["code"]) == (409, "INVALID_TRANSITION")
    assert refunded_amount(api, checkout["payment"]["intentId"]) == 3000
    assert stock(api, sku)["onHand"] == 5


def test_an_operator_cancels_a_paid_order_which_refunds_it(api: Api, shopper: Shopper) -> None:
    # Given a paid order
    checkout, sku = paid(api, shopper)
    # When an operator cancels it, Then it is CANCELLED, refunded, and its units are back
    answer = api.call("POST", f"/admin/orders/{checkout['orderId']}/cancel", headers=api.operator())
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "CANCELLED"
    assert refunded_amount(api, checkout["payment"]["intentId"]) == 3000
    assert stock(api, sku)["onHand"] == 5
    # And the customer sees their order cancelled
    assert shopper.order(checkout["orderId"])["status"] == "CANCELLED"


@pytest.mark.parametrize("fault", [{"kind": "error", "status": 500}, {"kind": "timeout", "seconds": 1}])
def test_a_provider_outage_on_refund_and_cancel_is_503_and_changes_nothing(
    api: Api, shopper: Shopper, fault: dict[str, Any]
) -> None:
    # Given a paid order and a provider failing (or timing out on) every refund request
    checkout, sku = paid(api, shopper)
    order_id, intent_id = checkout["orderId"], checkout["payment"]["intentId"]
    sandbox(api, "POST", "/_sandbox/faults", json={**fault, "count": None, "path": "/v1/refunds"})
    try:
        # When an operator refunds or cancels it, Then 503 PAYMENT_PROVIDER_UNAVAILABLE with Retry-After
        for action in ("refund", "cancel"):
            answer = api.call("POST", f"/admin/orders/{order_id}/{action}", headers=api.operator())
            assert (answer.status_code, answer.json()["code"]) == (503, "PAYMENT_PROVIDER_UNAVAILABLE"), answer.text
            assert int(answer.headers["Retry-After"]) > 0
        # And no money moved and the units are still sold; the order waits REFUND_PENDING (it cannot be fulfilled).
        # Checked while the provider is still down: once it is back, any upkeep run may finish the refund.
        assert refunded_amount(api, intent_id) == 0
        assert stock(api, sku)["onHand"] == 3
        assert api.call("GET", f"/admin/orders/{order_id}", headers=api.operator()).json()["status"] == "REFUND_PENDING"
        fulfil = api.call("POST", f"/admin/orders/{order_id}/fulfill", headers=api.operator())
        assert (fulfil.status_code, fulfil.json()["code"]) == (409, "INVALID_TRANSITION")
    finally:
        sandbox(api, "DELETE", "/_sandbox/faults")
    # When the operator retries once the provider is back, Then it is refunded, once (an upkeep run of the
    # shared local cloud may have finished it first: then the retry is refused as a transition from REFUNDED)
    answer = api.call("POST", f"/admin/orders/{order_id}/refund", headers=api.operator())
    if answer.status_code == 409:
        assert answer.json()["code"] == "INVALID_TRANSITION", answer.text
        answer = api.call("GET", f"/admin/orders/{order_id}", headers=api.operator())
    assert (answer.status_code, answer.json()["status"]) == (200, "REFUNDED"), answer.text
    assert refunded_amount(api, intent_id) == 3000
    assert stock(api, sku)["onHand"] == 5


def test_a_refund_the_provider_refuses_is_409_and_the_order_refund_failed(api: Api, shopper: Shopper) -> None:
    # Given a paid order whose charge the card holder disputed
    checkout, sku = paid(api, shopper)
    order_id, intent_id = checkout["orderId"], checkout["payment"]["intentId"]
    sandbox(api, "POST", f"/_sandbox/payment_intents/{intent_id}/dispute")
    # When an operator refunds it, Then 409 REFUND_REJECTED; the order is REFUND_FAILED with the provider's reason
    answer = api.call("POST", f"/admin/orders/{order_id}/refund", headers=api.operator())
    assert (answer.status_code, answer.json()["code"]) == (409, "REFUND_REJECTED"), answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    order = api.call("GET", f"/admin/orders/{order_id}", headers=api.operator()).json()
    assert order["status"] == "REFUND_FAILED"
    assert (order["events"][-1]["type"], order["events"][-1]["detail"]["reason"]) == ("RefundFailed", "charge_disputed")
    # And no money moved and the units are still sold
    assert refunded_amount(api, intent_id) == 0
    assert stock(api, sku)["onHand"] == 3


def test_a_refund_that_fails_later_reaches_the_order_through_the_webhook(api: Api, shopper: Shopper) -> None:
    # Given a refunded order
    checkout, _ = paid(api, shopper)
    order_id = checkout["orderId"]
    answer = api.call("POST", f"/admin/orders/{order_id}/refund", headers=api.operator())
    assert answer.status_code == 200, answer.text
    refund_id = answer.json()["events"][-1]["detail"]["refundId"]
    # When the refund fails later at the provider, which signs and delivers its webhooks to the API
    sandbox(api, "POST", f"/_sandbox/refunds/{refund_id}/fail", json={"failure_reason": "lost_or_stolen_card"})

    # Then the order becomes REFUND_FAILED, once, with the provider's reason
    def failed() -> dict[str, Any] | None:
        order: dict[str, Any] = api.call("GET", f"/admin/orders/{order_id}", headers=api.operator()).json()
        return order if order["status"] == "REFUND_FAILED" else None

    order = wait_until(failed, f"order {order_id} to be REFUND_FAILED", deadline=SETTLE_SECONDS)
    assert [e["type"] for e in order["events"]].count("RefundFailed") == 1
    assert order["events"][-1]["detail"]["reason"] == "lost_or_stolen_card"
    # And the operators' filter finds it
    listed = api.call("GET", "/admin/orders?status=REFUND_FAILED", headers=api.operator()).json()
    assert order_id in [item["orderId"] for item in listed["items"]]
