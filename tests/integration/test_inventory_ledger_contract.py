"""One contract, two ledgers: the DynamoDB adapter (against moto) and the in-memory ledger behave alike.

Stock is seeded the way production seeds it: the catalog creates SKUs at 0, operators set on-hand units.
For DynamoDB the stored items are checked too: `available` always equals `onHand - reserved`, and a
reservation item carries its lines, status, expiry and TTL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from commerce.adapters.dynamodb.catalog import DynamoDbCatalog
from commerce.adapters.dynamodb.client import from_attrs, to_attrs
from commerce.adapters.dynamodb.inventory import RESERVATION_RETENTION, DynamoDbStockLedger
from commerce.adapters.dynamodb.keys import reservation_key, sku_key
from commerce.domain.catalog.models import ProductSpec, VariantSpec
from commerce.domain.catalog.ports import CatalogRepository
from commerce.domain.catalog.service import create_product, replace_product
from commerce.domain.errors import ErrorCode
from commerce.domain.inventory.errors import (
    BelowReserved,
    OutOfStock,
    ReservationClosed,
    ReservationMismatch,
    ReservationNotFound,
    SkuNotFound,
)
from commerce.domain.inventory.models import ReservationLine, ReservationStatus
from commerce.domain.inventory.ports import StockLedger
from commerce.domain.inventory.service import (
    commit_reservation,
    get_stock,
    release_reservation,
    reserve_stock,
    set_on_hand,
)
from commerce.domain.money import Money
from tests.support.fakes.catalog import InMemoryCatalog
from tests.support.fakes.inventory import InMemoryStockLedger

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
EXPIRES = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)


class Stores:
    def __init__(self, catalog: CatalogRepository, ledger: StockLedger, table: str | None) -> None:
        self.catalog, self.ledger, self.table = catalog, ledger, table

    def stock(self, **on_hand: int) -> None:
        """One product with a SKU per keyword (A_1 -> A-1), each with that many units on hand."""
        skus = [sku.replace("_", "-") for sku in on_hand]
        spec = ProductSpec(
            "Stocked",
            "",
            "test",
            tuple(VariantSpec(sku, sku, Money(500, "EUR")) for sku in skus),
        )
        product = create_product(self.catalog, spec, now=NOW)
        self.product_id = product.product_id
        for sku, units in zip(skus, on_hand.values(), strict=True):
            set_on_hand(self.ledger, sku, units)

    def raw(self, key: dict[str, str]) -> dict[str, Any] | None:
        """The stored DynamoDB item (None for the in-memory ledger, which has no items)."""
        if self.table is None:
            return None
        item = boto3.client("dynamodb").get_item(TableName=self.table, Key=to_attrs(key), ConsistentRead=True)
        return from_attrs(item["Item"]) if "Item" in item else {}

    def assert_counters_consistent(self, *skus: str) -> None:
        for sku in skus:
            stock = get_stock(self.ledger, sku)
            assert stock.on_hand >= 0
            assert stock.reserved >= 0
            assert stock.available >= 0
            item = self.raw(sku_key(sku))
            if item is not None:
                assert item["available"] == item["onHand"] - item["reserved"]
                assert (item["onHand"], item["reserved"]) == (stock.on_hand, stock.reserved)


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Stores:
    if request.param == "memory":
        ledger = InMemoryStockLedger()
        return Stores(InMemoryCatalog(ledger), ledger, None)
    table = request.getfixturevalue("commerce_table")
    return Stores(DynamoDbCatalog(table), DynamoDbStockLedger(table), table)


def lines(**quantities: int) -> list[ReservationLine]:
    return [ReservationLine(sku.replace("_", "-"), q) for sku, q in quantities.items()]


def test_new_skus_start_at_zero_and_on_hand_can_be_set(stores: Stores) -> None:
    # Given a product just created, When on hand is set, Then counters follow
    stores.stock(A_1=0)
    assert get_stock(stores.ledger, "A-1").to_json() == {"sku": "A-1", "onHand": 0, "reserved": 0, "available": 0}
    assert set_on_hand(stores.ledger, "A-1", 7).available == 7
    stores.assert_counters_consistent("A-1")


def test_unknown_sku_is_not_found(stores: Stores) -> None:
    # Given no such SKU, When read or set, Then SKU_NOT_FOUND and nothing is created
    with pytest.raises(SkuNotFound):
        get_stock(stores.ledger, "GHOST-1")
    with pytest.raises(SkuNotFound):
        set_on_hand(stores.ledger, "GHOST-1", 3)
    assert stores.raw(sku_key("GHOST-1")) in (None, {})


def test_reserve_then_commit(stores: Stores) -> None:
    # Given A-1: 5 and B-1: 2
    stores.stock(A_1=5, B_1=2)
    # When 3 A-1 and 2 B-1 are reserved
    reservation = reserve_stock(stores.ledger, "chk-1", lines(A_1=3, B_1=2), EXPIRES)
    # Then both are reserved and the reservation is recorded
    assert reservation.status is ReservationStatus.RESERVED
    assert get_stock(stores.ledger, "A-1").available == 2
    assert get_stock(stores.ledger, "B-1").available == 0
    assert stores.ledger.get_reservation("chk-1") == reservation
    stores.assert_counters_consistent("A-1", "B-1")
    # When committed, Then the units leave on hand
    assert commit_reservation(stores.ledger, "chk-1").status is ReservationStatus.COMMITTED
    assert get_stock(stores.ledger, "A-1").to_json() == {"sku": "A-1", "onHand": 2, "reserved": 0, "available": 2}
    assert get_stock(stores.ledger, "B-1").to_json() == {"sku": "B-1", "onHand": 0, "reserved": 0, "available": 0}
    stores.assert_counters_consistent("A-1", "B-1")


def test_reservation_item_carries_lines_status_expiry_and_ttl(commerce_table: str) -> None:
    # Given stock in DynamoDB, When reserved
    stores = Stores(DynamoDbCatalog(commerce_table), DynamoDbStockLedger(commerce_table), commerce_table)
    stores.stock(A_1=5)
    reserve_stock(stores.ledger, "chk-ttl", lines(A_1=1), EXPIRES)
    item = stores.raw(reservation_key("chk-ttl"))
    assert item is not None
    # Then the item holds what the upkeep job needs, and TTL comes well after the expiry
    assert item["lines"] == [{"sku": "A-1", "quantity": 1}]
    assert item["status"] == "RESERVED"
    assert item["expiresAt"] == "2026-11-22T10:15:00.000Z"
    assert item["ttl"] == int((EXPIRES + RESERVATION_RETENTION).timestamp())


def test_short_lines_reserve_nothing_and_are_all_named(stores: Stores) -> None:
    # Given A-1: 5, B-1: 1, C-1 retired
    stores.stock(A_1=5, B_1=1, C_1=4)
    replace_product(
        stores.catalog,
        stores.product_id,
        ProductSpec(
            "Stocked", "", "test", (VariantSpec("A-1", "A", Money(1, "EUR")), VariantSpec("B-1", "B", Money(1, "EUR")))
        ),
        now=NOW,
    )
    # When 2 A-1, 2 B-1, 1 C-1 and 1 unknown SKU are reserved
    with pytest.raises(OutOfStock) as raised:
        reserve_stock(stores.ledger, "chk-2", lines(A_1=2, B_1=2, C_1=1, Z_9=1), EXPIRES)
    # Then OUT_OF_STOCK names lines 1, 2 and 3 and nothing is reserved
    assert raised.value.code is ErrorCode.OUT_OF_STOCK
    assert [(p.field, p.code) for p in raised.value.errors] == [
        ("lines[1].quantity", "INSUFFICIENT_STOCK"),
        ("lines[2].sku", "SKU_NOT_FOUND"),
        ("lines[3].sku", "SKU_NOT_FOUND"),
    ]
    assert raised.value.shortages[0].available == 1
    assert get_stock(stores.ledger, "A-1").reserved == 0
    assert stores.ledger.get_reservation("chk-2") is None
    stores.assert_counters_consistent("A-1", "B-1", "C-1")


def test_retried_reserve_is_idempotent(stores: Stores) -> None:
    # Given a reservation of 2 A-1
    stores.stock(A_1=3)
    first = reserve_stock(stores.ledger, "chk-3", lines(A_1=2), EXPIRES)
    # When the same reserve is retried (even though only 1 is left now)
    again = reserve_stock(stores.ledger, "chk-3", lines(A_1=2), EXPIRES)
    # Then the same reservation comes back and only 2 are reserved
    assert again == first
    assert get_stock(stores.ledger, "A-1").reserved == 2
    # And the id with other lines is refused
    with pytest.raises(ReservationMismatch):
        reserve_stock(stores.ledger, "chk-3", lines(A_1=1), EXPIRES)


def test_release_is_exactly_once_and_final(stores: Stores) -> None:
    # Given a reservation of 4 of 4
    stores.stock(A_1=4)
    reserve_stock(stores.ledger, "chk-4", lines(A_1=4), EXPIRES)
    # When released twice
    release_reservation(stores.ledger, "chk-4")
    released = release_reservation(stores.ledger, "chk-4")
    # Then the units came back once, and it cannot be committed any more
    assert released.status is ReservationStatus.RELEASED
    assert get_stock(stores.ledger, "A-1").to_json() == {"sku": "A-1", "onHand": 4, "reserved": 0, "available": 4}
    with pytest.raises(ReservationClosed):
        commit_reservation(stores.ledger, "chk-4")
    stores.assert_counters_consistent("A-1")


def test_commit_is_exactly_once_and_final(stores: Stores) -> None:
    # Given a reservation of 1 of 4, committed twice
    stores.stock(A_1=4)
    reserve_stock(stores.ledger, "chk-5", lines(A_1=1), EXPIRES)
    commit_reservation(stores.ledger, "chk-5")
    commit_reservation(stores.ledger, "chk-5")
    # Then on hand dropped once and release is refused
    assert get_stock(stores.ledger, "A-1").on_hand == 3
    with pytest.raises(ReservationClosed):
        release_reservation(stores.ledger, "chk-5")
    with pytest.raises(ReservationNotFound):
        release_reservation(stores.ledger, "chk-none")


def test_on_hand_cannot_drop_below_reserved(stores: Stores) -> None:
    # Given 3 of 5 reserved
    stores.stock(A_1=5)
    reserve_stock(stores.ledger, "chk-6", lines(A_1=3), EXPIRES)
    # When on hand is set to 2, Then BELOW_RESERVED and no change; 3 is accepted
    with pytest.raises(BelowReserved):
        set_on_hand(stores.ledger, "A-1", 2)
    assert get_stock(stores.ledger, "A-1").on_hand == 5
    assert set_on_hand(stores.ledger, "A-1", 3).to_json() == {"sku": "A-1", "onHand": 3, "reserved": 3, "available": 0}
    stores.assert_counters_consistent("A-1")
