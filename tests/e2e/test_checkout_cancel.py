"""Fair admission over HTTP against a local cloud of our own: one open checkout per cart (racing requests with
new keys included), the buyer's cancel, and a cancel racing a payment, which ends in exactly one of COMPLETED
(the cancel refused) or CANCELLED with the payment refunded: never charged without an order, never both."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.conftest import Api
from tests.e2e.test_checkout_payment import ADDRESS, Shopper, provider, stock
from tests.support.local_cloud import RunningCloud, run_local_cloud
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

FINAL = ("COMPLETED", "FAILED", "EXPIRED", "CANCELLED")


@pytest.fixture(scope="module")
def cloud() -> Iterator[RunningCloud]:
    yield from run_local_cloud("--time-scale", "60", "--parameter", "PaymentTimeoutSeconds=3600")


@pytest.fixture(scope="module")
def api(cloud: RunningCloud) -> Api:
    return Api(cloud)


def post_checkout(api: Api, shopper: Shopper, key: str) -> requests.Response:
    return api.call(
        "POST",
        "/checkouts",
        json={"email": "ada@example.com", "shippingAddress": ADDRESS},
        headers={**shopper.headers, "Idempotency-Key": key},
    )


def cancel(api: Api, shopper: Shopper, checkout_id: str) -> requests.Response:
    return api.call("POST", f"/checkouts/{checkout_id}/cancel", headers=shopper.headers)


def shopper_with(api: Api, sku: str, quantity: int = 1) -> Shopper:
    shopper = Shopper(api, api.new_session())
    shopper.add(sku, quantity)
    return shopper


def test_a_new_key_while_a_checkout_is_open_is_409_naming_it_and_the_same_key_replays(api: Api) -> None:
    # Given a cart with 2 units checked out once
    sku = api.create_product(on_hand=10)["sku"]
    shopper = shopper_with(api, sku, 2)
    first = post_checkout(api, shopper, "key-1")
    assert first.status_code == 202, first.text
    # When it checks out again with a new key
    again = post_checkout(api, shopper, "key-2")
    # Then 409 CHECKOUT_IN_PROGRESS naming the open checkout, with its Location, and nothing more is reserved
    assert again.status_code == 409, again.text
    problem = again.json()
    assert (problem["code"], problem["checkoutId"]) == ("CHECKOUT_IN_PROGRESS", first.json()["checkoutId"])
    assert again.headers["Location"] == f"/checkouts/{first.json()['checkoutId']}"
    assert stock(api, sku)["reserved"] == 2
    # And the first key still replays its answer
    replay = post_checkout(api, shopper, "key-1")
    assert (replay.status_code, replay.json()["checkoutId"]) == (202, first.json()["checkoutId"])


def test_racing_posts_with_different_keys_on_one_cart_get_exactly_one_202(api: Api) -> None:
    # Given one cart, When 8 requests with 8 new keys arrive at the same moment (a hoarding bot)
    sku = api.create_product(on_hand=50)["sku"]
    shopper = shopper_with(api, sku, 5)
    barrier = threading.Barrier(8)

    def attempt(_: int) -> requests.Response:
        barrier.wait()
        return post_checkout(api, shopper, str(uuid.uuid4()))

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(attempt, range(8)))
    # Then exactly one is accepted; the others are 409 CHECKOUT_IN_PROGRESS naming it
    accepted = [a for a in answers if a.status_code == 202]
    assert len(accepted) == 1, [a.text for a in answers]
    winner = accepted[0].json()["checkoutId"]
    refused = [a.json() for a in answers if a.status_code != 202]
    assert {(p["code"], p["checkoutId"]) for p in refused} == {("CHECKOUT_IN_PROGRESS", winner)}
    # And the cart holds 5 units, not 40
    assert stock(api, sku)["reserved"] == 5


def test_the_owner_cancels_an_open_checkout_and_everything_is_undone(api: Api) -> None:
    # Given a checkout waiting for its payment
    sku = api.create_product(on_hand=10)["sku"]
    shopper = shopper_with(api, sku, 3)
    placed = shopper.check_out()
    awaiting = shopper.wait_for(placed["checkoutId"], "AWAITING_PAYMENT")
    # When someone else cancels it, Then 404, and nothing changed
    stranger = Shopper(api, api.new_session())
    assert cancel(api, stranger, placed["checkoutId"]).status_code == 404
    assert stock(api, sku)["reserved"] == 3
    # When its owner cancels it
    cancelled = cancel(api, shopper, placed["checkoutId"])
    # Then 200 CANCELLED; the stock is back, the intent cancelled, the order cancelled
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    after = stock(api, sku)
    assert (after["reserved"], after["available"]) == (0, 10)
    assert provider(api, f"/v1/payment_intents/{awaiting['payment']['intentId']}")["status"] == "canceled"
    assert shopper.order(placed["orderId"])["status"] == "CANCELLED"
    # And its workflow ended, and the checkout stays CANCELLED
    assert shopper.wait_for(placed["checkoutId"], *FINAL)["status"] == "CANCELLED"
    # And a second cancel is 409 INVALID_TRANSITION; the cart can check out again
    again = cancel(api, shopper, placed["checkoutId"])
    assert (again.status_code, again.json()["code"]) == (409, "INVALID_TRANSITION")
    assert post_checkout(api, shopper, "after-cancel").status_code == 202


def test_a_paid_checkout_cannot_be_cancelled(api: Api) -> None:
    # Given a paid, completed checkout
    sku = api.create_product(on_hand=10)["sku"]
    shopper = shopper_with(api, sku)
    placed = shopper.check_out()
    assert shopper.pay(shopper.wait_for(placed["checkoutId"], "AWAITING_PAYMENT")).ok
    shopper.wait_for(placed["checkoutId"], "COMPLETED")
    # When its owner cancels it, Then 409 INVALID_TRANSITION and it stays COMPLETED, its order PAID
    refused = cancel(api, shopper, placed["checkoutId"])
    assert (refused.status_code, refused.json()["code"]) == (409, "INVALID_TRANSITION")
    assert shopper.checkout(placed["checkoutId"])["status"] == "COMPLETED"
    assert shopper.order(placed["orderId"])["status"] == "PAID"


@pytest.mark.parametrize("attempt", range(4))
def test_a_cancel_racing_a_payment_ends_completed_or_cancelled_and_refunded(api: Api, attempt: int) -> None:
    # Given a checkout waiting for its payment
    sku = api.create_product(on_hand=5)["sku"]
    shopper = shopper_with(api, sku)
    placed = shopper.check_out()
    awaiting = shopper.wait_for(placed["checkoutId"], "AWAITING_PAYMENT")
    intent_id = awaiting["payment"]["intentId"]
    # When the buyer pays in one tab and cancels in another, at the same moment
    barrier = threading.Barrier(2)

    def pay() -> requests.Response:
        barrier.wait()
        return shopper.pay(awaiting)

    def cancel_it() -> requests.Response:
        barrier.wait()
        return cancel(api, shopper, placed["checkoutId"])

    with ThreadPoolExecutor(2) as pool:
        paying, cancelling = pool.submit(pay), pool.submit(cancel_it)
        cancelled = cancelling.result()
        paying.result()
    final = shopper.wait_for(placed["checkoutId"], *FINAL)
    order = shopper.order(placed["orderId"])
    # Then exactly one of: COMPLETED with the cancel refused, or CANCELLED with no money kept
    if final["status"] == "COMPLETED":
        assert (cancelled.status_code, cancelled.json()["code"]) == (409, "INVALID_TRANSITION")
        assert order["status"] == "PAID"
        assert stock(api, sku)["onHand"] == 4
    else:
        assert final["status"] == "CANCELLED"
        assert cancelled.status_code == 200, cancelled.text
        assert order["status"] == "CANCELLED"

        def settled() -> bool:
            now = provider(api, f"/v1/payment_intents/{intent_id}")
            if now["status"] != "succeeded":
                return bool(now["status"] == "canceled")
            charge = provider(api, f"/v1/charges/{now['latest_charge']}")
            return bool(charge["amount_refunded"] == charge["amount"])

        wait_until(lambda: settled() or None, f"intent {intent_id} to be cancelled or refunded", deadline=60.0)
        assert stock(api, sku)["reserved"] == 0
        assert stock(api, sku)["onHand"] == 5
