"""A SKU's `purchaseLimit` over HTTP, under a stampede of one buyer: 50 concurrent `POST /checkouts` with new keys.

The operator sets the limit with `PUT /admin/inventory/{sku}`. One guest session is one buyer (API.md: the
customer, else the guest session): while its first checkout is open, the racing requests are refused, either by
the cart's one open checkout (409 CHECKOUT_IN_PROGRESS) or by the limit, counted in the same transaction as the
stock (409 PURCHASE_LIMIT); once it has bought the limit's worth, every further request is PURCHASE_LIMIT. The
limit's concurrency in the ledger itself is tests/integration/test_inventory_shards_race.py; this is the whole
path, handlers and all.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Api
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

LIMIT = 2
ON_HAND = 10
REQUESTS = 50
RETRIES = 5
ADDRESS = {"name": "Ada Lovelace", "line1": "12 Analytical St", "city": "London", "postalCode": "N1", "country": "GB"}
BODY = {"email": "ada@example.com", "shippingAddress": ADDRESS}


def set_line(api: Api, session: dict[str, str], sku: str, quantity: int) -> None:
    answer = api.call("PUT", f"/cart/lines/{sku}", json={"quantity": quantity}, headers=session)
    assert answer.status_code == 200, answer.text


def stampede(api: Api, session: dict[str, str]) -> list[requests.Response]:
    """REQUESTS concurrent checkouts of the session's cart, each with a new Idempotency-Key (retried on a 5xx)."""

    def check_out(_: int) -> requests.Response:
        headers = {**session, "Idempotency-Key": str(uuid.uuid4())}
        for _attempt in range(RETRIES):
            answer = requests.post(f"{api.cloud.api_url}/checkouts", json=BODY, headers=headers, timeout=60)
            # A function timed out on the loaded machine (502): a storefront sends the same key again, whose
            # answer is the first attempt's outcome (or its own, if the first changed nothing).
            if answer.status_code < 500:
                return answer
        return answer

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        return list(pool.map(check_out, range(REQUESTS)))


def stock(api: Api, sku: str) -> dict[str, Any]:
    answer = api.call("GET", f"/admin/inventory/{sku}", headers=api.operator())
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def checkout_of(api: Api, session: dict[str, str], checkout_id: str) -> dict[str, Any]:
    answer = api.call("GET", f"/checkouts/{checkout_id}", headers=session)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def refusal(response: requests.Response) -> str:
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 409
    if problem["code"] == "PURCHASE_LIMIT":
        assert [(e["field"], e["code"]) for e in problem["errors"]] == [("lines[0].quantity", "PURCHASE_LIMIT")]
    return str(problem["code"])


def test_fifty_concurrent_checkouts_of_one_buyer_reserve_and_buy_only_the_purchase_limit(api: Api) -> None:
    # Given a SKU of 10 units over 4 shards, limited by the operator to 2 per buyer
    sku = api.create_product(on_hand=ON_HAND)["sku"]
    limited = api.call(
        "PUT",
        f"/admin/inventory/{sku}",
        json={"onHand": ON_HAND, "shards": 4, "purchaseLimit": LIMIT},
        headers=api.operator(),
    )
    assert limited.status_code == 200, limited.text
    assert limited.json()["purchaseLimit"] == LIMIT
    # And one buyer (a guest session) with the limit's worth in its cart
    buyer = {"X-Session-Token": api.new_session()}
    set_line(api, buyer, sku, LIMIT)

    # When it sends 50 checkouts at once, each with a new key
    answers = stampede(api, buyer)

    # Then exactly one is accepted, the others are refused with a problem and reserve nothing
    accepted = [answer for answer in answers if answer.status_code == 202]
    assert len(accepted) == 1, [answer.text for answer in answers if answer.status_code != 409]
    refused = [refusal(answer) for answer in answers if answer.status_code != 202]
    assert len(refused) == REQUESTS - 1
    assert set(refused) <= {"CHECKOUT_IN_PROGRESS", "PURCHASE_LIMIT"}
    # And exactly the limit's worth is held, none invented or lost
    held = stock(api, sku)
    assert (held["onHand"], held["reserved"], held["available"]) == (ON_HAND, LIMIT, ON_HAND - LIMIT)

    # When the buyer pays that checkout
    checkout_id = accepted[0].json()["checkoutId"]

    def awaiting_payment() -> dict[str, Any] | None:
        checkout = checkout_of(api, buyer, checkout_id)
        return checkout if checkout["status"] == "AWAITING_PAYMENT" else None

    awaiting = wait_until(awaiting_payment, "the checkout to await payment", deadline=60.0)
    paid = requests.post(
        f"{api.cloud.outputs['PaymentsApiUrl']}/v1/payment_intents/{awaiting['payment']['intentId']}/confirm",
        data={"payment_method": "pm_card_visa", "client_secret": awaiting["payment"]["clientSecret"]},
        timeout=30,
    )
    assert paid.ok, paid.text
    wait_until(
        lambda: checkout_of(api, buyer, checkout_id)["status"] == "COMPLETED", "the checkout to complete", deadline=60.0
    )
    # Then the limit's worth is sold
    sold = stock(api, sku)
    assert (sold["onHand"], sold["reserved"], sold["available"]) == (ON_HAND - LIMIT, 0, ON_HAND - LIMIT)

    # When the same buyer, having bought its limit, sends 50 more checkouts of one unit at once
    set_line(api, buyer, sku, 1)
    answers = stampede(api, buyer)

    # Then every one is 409 PURCHASE_LIMIT, and the stock is exactly as it was
    assert [refusal(answer) for answer in answers] == ["PURCHASE_LIMIT"] * REQUESTS
    after = stock(api, sku)
    assert (after["onHand"], after["reserved"], after["available"]) == (ON_HAND - LIMIT, 0, ON_HAND - LIMIT)

    # And another buyer still gets its own limit's worth
    other = {"X-Session-Token": api.new_session()}
    set_line(api, other, sku, LIMIT)
    theirs = api.call("POST", "/checkouts", json=BODY, headers={**other, "Idempotency-Key": str(uuid.uuid4())})
    assert theirs.status_code == 202, theirs.text
    assert stock(api, sku)["reserved"] == LIMIT
