"""Fulfilments over HTTP against the local cloud, as a warehouse and a storefront call them: a paid order ships
in two parts, the customer sees the tracking number, shipping more than is left is refused, and a refund of a
partly shipped order puts back on the shelf only the units that did not ship."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import Api
from tests.support.shopping import add_line, check_out, pay
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def test_a_paid_order_ships_in_two_parts_and_a_refund_restocks_what_did_not_ship(api: Api) -> None:
    # Given a customer's paid order of 3 units of a SKU stocked with 10
    product = api.create_product(on_hand=10)
    sku, operator = product["sku"], api.operator()
    buyer = {"X-Session-Token": api.new_session()}
    add_line(api, buyer, sku, 3)
    checkout = pay(api, buyer, check_out(api, buyer))
    order_path = f"/admin/orders/{checkout['orderId']}"
    wait_until(lambda: api.call("GET", order_path, headers=operator).json().get("status") == "PAID", "order PAID")

    # When the warehouse ships 2 units with a tracking number (and retries the same request)
    body = {"lines": [{"sku": sku, "quantity": 2}], "carrier": "DHL", "trackingNumber": "JD0146000062"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    shipped = api.call("POST", f"{order_path}/fulfillments", json=body, headers={**operator, **key})
    again = api.call("POST", f"{order_path}/fulfillments", json=body, headers={**operator, **key})
    # Then 201, the order PARTIALLY_FULFILLED, and the retry answered the same fulfilment
    assert shipped.status_code == 201, shipped.text
    assert shipped.json()["status"] == "PARTIALLY_FULFILLED"
    assert again.status_code == 201
    assert again.json() == shipped.json()
    # And the customer sees the shipment on their order
    mine = api.call("GET", f"/orders/{checkout['orderId']}", headers=buyer).json()
    assert [(f["carrier"], f["trackingNumber"]) for f in mine["fulfillments"]] == [("DHL", "JD0146000062")]

    # When 2 more units are to ship, Then 409 OVER_FULFILLED (1 is left) and nothing changes
    before = api.call("GET", order_path, headers=operator).json()
    over = api.call(
        "POST", f"{order_path}/fulfillments", json={"lines": [{"sku": sku, "quantity": 2}]}, headers=operator
    )
    assert over.status_code == 409
    assert over.headers["Content-Type"].startswith("application/problem+json")
    assert over.json()["code"] == "OVER_FULFILLED"
    assert api.call("GET", order_path, headers=operator).json() == before

    # When the order is cancelled, Then 409 (units shipped); when it is refunded, Then REFUNDED and the one unit
    # that did not ship is back on the shelf (7 on hand after the sale, 8 now)
    assert api.call("POST", f"{order_path}/cancel", headers=operator).status_code == 409
    refunded = api.call("POST", f"{order_path}/refund", headers=operator)
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "REFUNDED"
    stock = api.call("GET", f"/admin/inventory/{sku}", headers=operator).json()
    assert (stock["onHand"], stock["reserved"]) == (8, 0)
