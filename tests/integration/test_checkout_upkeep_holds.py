"""Crash windows of placing and of the upkeep itself, reproduced against moto, then closed by the upkeep
function (invoked as Lambda runs it): a CreateCheckout killed between its reservation and its record, on a
sharded SKU; an upkeep whose release failed after it had expired the checkout."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Any

import boto3
import pytest

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.client import to_attrs
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.keys import reservation_key, sku_key, sku_shard_key
from commerce.adapters.dynamodb.upkeep_runs import DynamoDbUpkeepRuns
from commerce.domain.carts.models import PricedCart, PricedLine
from commerce.domain.checkout.models import Checkout, CheckoutStatus, checkout_id_for
from commerce.domain.checkout.service import AdmissionPolicy, CheckoutDesk, CheckoutDetails, owner_key
from commerce.domain.inventory.models import ReservationLine, ReservationStatus, StockSettings
from commerce.domain.inventory.service import reserve_stock
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderLine, OrderOwner, ShippingAddress, order_clock
from commerce.domain.sessions.models import Credentials
from commerce.domain.sessions.tokens import issue_token
from tests.support.carts import Storefront, configure
from tests.support.fakes.checkout import InMemoryCheckoutQueue
from tests.support.handlers import load_handler
from tests.support.lambda_events import FakeLambdaContext, load_event

pytestmark = pytest.mark.integration

SKU = "CUP-WHITE"
TTL = timedelta(minutes=15)
ADDRESS = ShippingAddress(name="Ada Lovelace", line1="12 Analytical St", city="London", postal_code="N1", country="GB")
DEFINITION = {"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}


class Killed(BaseException):
    """The function's process dying between two writes: no `except Exception` cleanup runs."""


class DiesBeforeRecording(DynamoDbCheckouts):
    def create(self, checkout: Checkout, *, replacing: str | None = None) -> Checkout:
        raise Killed()


class Cart:
    def view(self, credentials: Credentials) -> PricedCart:
        line = PricedLine(sku=SKU, product_id="p1", name="Cup (White)", quantity=7, unit_price=Money(1200, "EUR"))
        return PricedCart(cart_id="cart-1", currency="EUR", lines=(line,), updated_at=order_clock())


@pytest.fixture
def upkeep(commerce_table: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    state_machine = boto3.client("stepfunctions").create_state_machine(
        name="checkout-test", definition=json.dumps(DEFINITION), roleArn="arn:aws:iam::123456789012:role/checkout"
    )["stateMachineArn"]
    configure(monkeypatch, CHECKOUT_STATE_MACHINE_ARN=state_machine, RESERVATION_UPKEEP_MAX_PER_RUN="16")
    load_handler("release_expired_reservations", fresh=True)
    return sys.modules["functions.release_expired_reservations.app"]


def run(app: Any) -> dict[str, int]:
    return dict(app.lambda_handler(load_event("release_expired_reservations"), FakeLambdaContext()))


def shard_reserved(table: str) -> list[int]:
    """`reserved` of the SKU item (shard 0) and each shard item."""
    keys = [sku_key(SKU)] + [sku_shard_key(SKU, index) for index in range(1, 4)]
    found = []
    for key in keys:
        item = boto3.client("dynamodb").get_item(TableName=table, Key=to_attrs(key), ConsistentRead=True)["Item"]
        found.append(int(item["reserved"]["N"]))
    return found


def reservation_item(table: str, reservation_id: str) -> dict[str, Any]:
    key = to_attrs(reservation_key(reservation_id))
    return dict(boto3.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)["Item"])


def test_a_create_killed_between_reserve_and_record_has_its_units_released_to_their_shards(
    upkeep: Any, commerce_table: str
) -> None:
    # Given a SKU over four shards, and a CreateCheckout that reserved 7 units and was killed before its record
    Storefront(commerce_table).seed_sku(SKU, amount=1200, available=0)
    ledger, checkouts = DynamoDbStockLedger(commerce_table), DynamoDbCheckouts(commerce_table)
    ledger.set_stock(SKU, StockSettings(40, shards=4))
    token = issue_token()
    owner = OrderOwner(session_id=token.session_id)
    policy = AdmissionPolicy(reservation_ttl=TTL, max_queue_depth=100, busy_retry_after_seconds=5)
    placed_at = order_clock() - TTL - timedelta(minutes=1)  # long enough ago that its reservation expired
    desk = CheckoutDesk(
        DiesBeforeRecording(commerce_table), ledger, Cart(), InMemoryCheckoutQueue(), policy, clock=lambda: placed_at
    )
    with pytest.raises(Killed):
        desk.place(Credentials(token), owner, "key-1", CheckoutDetails("ada@example.com", ADDRESS))
    checkout_id = checkout_id_for(owner_key(owner), "key-1")
    assert checkouts.get(checkout_id) is None
    assert sum(shard_reserved(commerce_table)) == 7
    assert reservation_item(commerce_table, checkout_id)["GSI1PK"]["S"].startswith("HELD_RESERVATIONS#")
    # When the upkeep runs
    report = run(upkeep)
    # Then the reservation is released, every shard holds nothing reserved, and it left the index
    assert report["holdsReleased"] == 1
    assert report["holdsFailed"] == 0
    assert shard_reserved(commerce_table) == [0, 0, 0, 0]
    stock = ledger.get(SKU)
    assert stock is not None
    assert (stock.on_hand, stock.reserved, stock.available) == (40, 0, 40)
    released = reservation_item(commerce_table, checkout_id)
    assert released["status"]["S"] == ReservationStatus.RELEASED.value
    assert "GSI1PK" not in released
    assert "GSI1SK" not in released
    # And the run is listed with its repair by kind; a second run repairs nothing
    assert run(upkeep)["holdsReleased"] == 0
    (job,) = DynamoDbUpkeepRuns(commerce_table).recent(runs_per_job=2)
    assert [r.repaired["orphanedReservationsReleased"] for r in job.runs] == [0, 1]


def test_a_release_that_failed_after_the_upkeep_expired_the_checkout_is_retried_by_the_next_run(
    upkeep: Any, commerce_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a QUEUED checkout never processed whose reservation expired
    Storefront(commerce_table).seed_sku(SKU, amount=1200, available=10)
    ledger, checkouts = DynamoDbStockLedger(commerce_table), DynamoDbCheckouts(commerce_table)
    checkout_id = checkout_id_for("SESSION#s-1", "k")
    expired_at = order_clock() - timedelta(minutes=1)
    reserve_stock(ledger, checkout_id, [ReservationLine(SKU, 2)], expired_at)
    checkouts.create(
        Checkout(
            checkout_id=checkout_id,
            order_id="3f6c2a9e-7b1d-4c5e-9a8f-1e2d3c4b5a69",
            owner=OrderOwner(session_id="s-1"),
            status=CheckoutStatus.QUEUED,
            email="ada@example.com",
            shipping_address=ADDRESS,
            lines=(OrderLine(SKU, "p1", "Cup (White)", 2, Money(1200, "EUR")),),
            total=Money(2400, "EUR"),
            reservation_expires_at=expired_at,
            created_at=expired_at - TTL,
            updated_at=expired_at - TTL,
        )
    )

    # When the upkeep expires it but every release of that run fails (DynamoDB throttling, say)
    def throttled(reservation_id: str) -> Any:
        raise RuntimeError("throttled")

    monkeypatch.setattr(upkeep.ledger, "release", throttled)
    first = run(upkeep)
    assert (first["failed"], first["holdsFailed"]) == (1, 1)
    expired = checkouts.get(checkout_id)
    assert expired is not None
    assert expired.status is CheckoutStatus.EXPIRED
    assert ledger.get(SKU).reserved == 2  # type: ignore[union-attr]
    # Then the next run releases its stock through the reservation's index entry
    monkeypatch.undo()
    second = run(upkeep)
    assert (second["released"], second["holdsReleased"], second["holdsFailed"]) == (0, 1, 0)
    assert ledger.get(SKU).reserved == 0  # type: ignore[union-attr]
