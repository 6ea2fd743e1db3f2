"""A customer's purchases over HTTP, as the storefront and her browser make them: for tests that need orders and
checkouts to exist before they start (the identity matrix's victim, the fuzzer's seeded store)."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from tests.e2e.conftest import Api
from tests.support.waiting import wait_until

SETTLE_SECONDS = 60.0
ADDRESS = {"name": "Vera Victim", "line1": "1 Private Rd", "city": "Leeds", "postalCode": "LS1", "country": "GB"}
CHECKOUT_BODY = {"email": "vera@example.com", "shippingAddress": ADDRESS}


def add_line(api: Api, headers: dict[str, str], sku: str, quantity: int) -> dict[str, Any]:
    added = api.call("POST", "/cart/lines", json={"sku": sku, "quantity": quantity}, headers=headers)
    assert added.status_code == 200, added.text
    return dict(added.json())


def wait_for_checkout(api: Api, headers: dict[str, str], checkout_id: str, *statuses: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        checkout = dict(api.call("GET", f"/checkouts/{checkout_id}", headers=headers).json())
        return checkout if checkout["status"] in statuses else None

    found: dict[str, Any] = wait_until(reached, f"checkout {checkout_id} in {statuses}", deadline=SETTLE_SECONDS)
    return found


def check_out(api: Api, headers: dict[str, str], key: str | None = None) -> dict[str, Any]:
    """The cart checked out under `key` (a new one by default), once it waits for payment."""
    accepted = api.call(
        "POST", "/checkouts", json=CHECKOUT_BODY, headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())}
    )
    assert accepted.status_code == 202, accepted.text
    return wait_for_checkout(api, headers, accepted.json()["checkoutId"], "AWAITING_PAYMENT")


def pay(api: Api, headers: dict[str, str], checkout: dict[str, Any]) -> dict[str, Any]:
    """Confirm the payment in the browser (the client secret authorises it); the checkout once COMPLETED."""
    payment = checkout["payment"]
    confirmed = requests.post(
        f"{api.cloud.outputs['PaymentsApiUrl']}/v1/payment_intents/{payment['intentId']}/confirm",
        data={"payment_method": "pm_card_visa", "client_secret": payment["clientSecret"]},
        timeout=30,
    )
    assert confirmed.status_code == 200, confirmed.text
    return wait_for_checkout(api, headers, checkout["checkoutId"], "COMPLETED")
