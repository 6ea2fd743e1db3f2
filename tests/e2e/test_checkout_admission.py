"""Checking out over HTTP, as a storefront does: POST /checkouts and GET /checkouts/{id} against the local cloud.

Only what admission guarantees is asserted: the checkout is accepted (202) with its stock reserved, and from
then on it is QUEUED or further along; whether the workflow has moved it yet is the workflow's business.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.conftest import Api

pytestmark = pytest.mark.e2e

STATUSES = {"QUEUED", "PROCESSING", "AWAITING_PAYMENT", "COMPLETED", "FAILED", "EXPIRED"}
FINAL = {"COMPLETED", "FAILED", "EXPIRED"}
BODY = {
    "email": "ada@example.com",
    "shippingAddress": {
        "name": "Ada Lovelace",
        "line1": "12 Analytical St",
        "city": "London",
        "postalCode": "N1 9GU",
        "country": "GB",
    },
}


def session_with(api: Api, sku: str, quantity: int) -> dict[str, str]:
    headers = {"X-Session-Token": api.new_session()}
    added = api.call("POST", "/cart/lines", json={"sku": sku, "quantity": quantity}, headers=headers)
    assert added.status_code == 200, added.text
    return headers


def check_out(api: Api, session: dict[str, str], key: str | None, body: Any = BODY) -> Any:
    headers = {**session, **({"Idempotency-Key": key} if key is not None else {})}
    response = api.call("POST", "/checkouts", json=body, headers=headers)
    assert response.status_code < 500, response.text
    return response


def polled_status(api: Api, session: dict[str, str], checkout: dict[str, Any]) -> str:
    polled = api.call("GET", f"/checkouts/{checkout['checkoutId']}", headers=session)
    assert polled.status_code == 200, polled.text
    return str(polled.json()["status"])


def reserved(api: Api, sku: str) -> int:
    stock = api.call("GET", f"/admin/inventory/{sku}", headers=api.operator())
    assert stock.status_code == 200, stock.text
    return int(stock.json()["reserved"])


def test_a_checkout_is_accepted_and_polled_by_its_session_only(api: Api) -> None:
    # Given a session with 2 units of a 1250 product in its cart
    sku = api.create_product(on_hand=5, price=1250)["sku"]
    session = session_with(api, sku, 2)
    # When it checks out
    accepted = check_out(api, session, str(uuid.uuid4()))
    # Then 202 with the checkout, its total from the catalog, and where to poll it
    assert accepted.status_code == 202, accepted.text
    checkout = accepted.json()
    assert checkout["status"] == "QUEUED"
    assert checkout["total"] == {"amount": 2500, "currency": "EUR"}
    assert accepted.headers["Location"] == f"/checkouts/{checkout['checkoutId']}"
    assert 0 < reserved(api, sku) <= 2 or polled_status(api, session, checkout) in FINAL
    # When its session follows Location, Then it reads the same checkout, QUEUED or further along
    polled = api.call("GET", accepted.headers["Location"], headers=session)
    assert polled.status_code == 200, polled.text
    assert polled.json()["checkoutId"] == checkout["checkoutId"]
    assert polled.json()["orderId"] == checkout["orderId"]
    assert polled.json()["status"] in STATUSES
    # When another session asks for it, Then 404, as for a checkout that does not exist
    other = api.call("GET", accepted.headers["Location"], headers={"X-Session-Token": api.new_session()})
    assert other.status_code == 404
    assert other.json()["code"] == "NOT_FOUND"
    unknown = api.call("GET", f"/checkouts/{uuid.uuid4()}", headers=session)
    assert unknown.status_code == 404


def test_a_retried_checkout_is_the_same_checkout_and_a_reused_key_is_refused(api: Api) -> None:
    # Given an accepted checkout
    sku = api.create_product(on_hand=5)["sku"]
    session, key = session_with(api, sku, 1), str(uuid.uuid4())
    first = check_out(api, session, key)
    assert first.status_code == 202, first.text
    # When the storefront retries it with the same key and body
    again = check_out(api, session, key)
    # Then it gets the same answer, and the stock is reserved once (the workflow may have released it since)
    assert again.status_code == 202
    assert again.json() == first.json()
    assert reserved(api, sku) <= 1
    # When the same key comes with another body, Then 422 IDEMPOTENCY_KEY_REUSED and nothing more is reserved
    reused = check_out(api, session, key, {**BODY, "email": "someone@example.com"})
    assert reused.status_code == 422
    assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert reserved(api, sku) <= 1


def test_refusals_reserve_nothing(api: Api) -> None:
    # Given a product with one unit and a session holding it in its cart
    sku = api.create_product(on_hand=1)["sku"]
    late = session_with(api, sku, 1)
    # When the session checks out without an Idempotency-Key, Then 400 IDEMPOTENCY_KEY_REQUIRED
    missing = check_out(api, late, None)
    assert (missing.status_code, missing.json()["code"]) == (400, "IDEMPOTENCY_KEY_REQUIRED")
    # When an empty cart checks out, Then 409 CART_EMPTY
    empty = check_out(api, {"X-Session-Token": api.new_session()}, str(uuid.uuid4()))
    assert (empty.status_code, empty.json()["code"]) == (409, "CART_EMPTY")
    assert reserved(api, sku) == 0
    # When another customer checks the only unit out first, and then this session tries
    assert check_out(api, session_with(api, sku, 1), str(uuid.uuid4())).status_code == 202
    sold_out = check_out(api, late, str(uuid.uuid4()))
    # Then 409 OUT_OF_STOCK names the line and its SKU, and only the first checkout holds the unit
    assert (sold_out.status_code, sold_out.json()["code"]) == (409, "OUT_OF_STOCK")
    problem = sold_out.json()["errors"][0]
    assert problem["field"] == "lines[0].quantity"
    assert sku in problem["message"]
    assert reserved(api, sku) <= 1
