"""A checkout nobody pays, over HTTP, against a local cloud whose payment timeout is a minute run 60x faster
(a second of real time): the checkout EXPIRES, its stock comes back, and nobody can pay it any more."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Api
from tests.e2e.test_checkout_payment import (
    FINAL,
    Shopper,
    awaiting_payment,
    provider,
    settled_execution,
    stock,
)
from tests.support.local_cloud import RunningCloud, run_local_cloud

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cloud() -> Iterator[RunningCloud]:
    yield from run_local_cloud("--time-scale", "60", "--parameter", "PaymentTimeoutSeconds=60")


@pytest.fixture(scope="module")
def api(cloud: RunningCloud) -> Api:
    return Api(cloud)


@pytest.fixture
def shopper(api: Api) -> Shopper:
    return Shopper(api, api.new_session())


def test_a_checkout_never_paid_expires_and_gives_its_stock_back(api: Api, shopper: Shopper) -> None:
    # Given a checkout of 2 units whose payment was requested
    checkout, sku = awaiting_payment(api, shopper)
    assert checkout["payment"] is not None
    # When nobody pays before the payment timeout
    expired = shopper.wait_for(checkout["checkoutId"], *FINAL)
    # Then the checkout is EXPIRED, the stock available again, the order CANCELLED
    assert (expired["status"], expired["failure"]["code"]) == ("EXPIRED", "PAYMENT_TIMEOUT")
    assert stock(api, sku) == {
        "sku": sku,
        "onHand": 5,
        "reserved": 0,
        "available": 5,
        "shards": 1,
        "purchaseLimit": None,
    }
    assert shopper.order(checkout["orderId"])["status"] == "CANCELLED"
    # And the intent is cancelled at the provider, so the customer can no longer pay it
    assert provider(api, f"/v1/payment_intents/{checkout['payment']['intentId']}")["status"] == "canceled"
    assert shopper.pay(checkout).status_code == 400
    # And the operator sees the wait timed out and was compensated, without a fault
    execution = settled_execution(api, checkout["checkoutId"])
    assert execution["status"] == "SUCCEEDED"
    steps = {s["name"]: s for s in execution["steps"]}
    assert steps["RequestPayment"]["error"]["error"] == "States.Timeout"
    assert steps["Compensate"]["status"] == "SUCCEEDED"
