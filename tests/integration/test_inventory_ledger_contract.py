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
from commerce.adapters.dynamodb.keys import reservation_key, sku_key, sku_shard_key
from commerce.adapters.dynamodb.stock_audit import DynamoDbStockAudit
from commerce.domain.catalog.models import ProductSpec, VariantSpec
from commerce.domain.catalog.ports import CatalogRepository
from commerce.domain.catalog.service import create_product, replace_product
from commerce.domain.errors import ErrorCode, ValidationFailed
from commerce.domain.inventory.audit import StockAuditStore
from commerce.domain.inventory.errors import (
    BelowReserved,
    OutOfStock,
    PurchaseLimitExceeded,
    ReservationClosed,
    ReservationMismatch,
    ReservationNotFound,
    SkuNotFound,
)
from commerce.domain.inventory.models import MAX_SHARDS, ReservationLine, ReservationStatus, StockSettings
from commerce.domain.inventory.ports import StockLedger
from commerce.domain.inventory.service import (
    commit_reservation,
    get_stock,
    release_reservation,
    reserve_stock,
    set_on_hand,
    set_stock,
)
from commerce.domain.money import Money
from tests.support.fakes.catalog import InMemoryCatalog
from tests.support.fakes.inventory import InMemoryStockAudit, InMemoryStockLedger

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

    def reserved_writes(self, sku: str) -> list[int]:
        """Each shard's count of writes that changed its `reserved`, as the stock audit reads it."""
        audit: StockAuditStore
        if isinstance(self.ledger, InMemoryStockLedger):
            audit = InMemoryStockAudit(self.ledger)
        else:
            assert self.table is not None
            audit = DynamoDbStockAudit(self.table)
        return [count.reserved_writes for count in audit.shard_counts([sku])]

    def raw(self, key: dict[str, str]) -> dict[str, Any] | None:
        """The stored DynamoDB item (None for the in-memory ledger, which has no items)."""
        if self.table is None:
            return None
        item = boto3.client("dynamodb").get_item(TableName=self.table, Key=to_attrs(key), ConsistentRead=True)
        return from_attrs(item["Item"]) if "Item" in item else {}

    def shard_items(self, sku: str) -> list[dict[str, Any]]:
        """The SKU item (shard 0) and its shard items as stored (empty for the in-memory ledger)."""
        if self.table is None:
            return []
        items = [self.raw(sku_shard_key(sku, index)) for index in range(MAX_SHARDS)]
        return [item for item in items if item]

    def assert_counters_consistent(self, *skus: str) -> None:
        for sku in skus:
            stock = get_stock(self.ledger, sku)
            assert stock.on_hand >= 0
            assert stock.reserved >= 0
            assert stock.available >= 0
            items = self.shard_items(sku)
            if not items:
                continue
            for item in items:
                assert item["available"] == item["onHand"] - item["reserved"] >= 0
                if item.get("active") is False:  # a shard left out by a reshard holds reserved units only
                    assert item["available"] == 0
            assert sum(i["onHand"] for i in items) == stock.on_hand
            assert sum(i["reserved"] for i in items) == stock.reserved


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
    assert get_stock(stores.ledger, "A-1").to_json() == {
        "sku": "A-1",
        "onHand": 0,
        "reserved": 0,
        "available": 0,
        "shards": 1,
        "purchaseLimit": None,
    }
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
    assert get_stock(stores.ledger, "A-1").to_json() == {
        "sku": "A-1",
        "onHand": 2,
        "reserved": 0,
        "available": 2,
        "shards": 1,
        "purchaseLimit": None,
    }
    assert get_stock(stores.ledger, "B-1").to_json() == {
        "sku": "B-1",
        "onHand": 0,
        "reserved": 0,
        "available": 0,
        "shards": 1,
        "purchaseLimit": None,
    }
    stores.assert_counters_consistent("A-1", "B-1")


def test_every_change_of_reserved_is_counted_once_on_its_shard(stores: Stores) -> None:
    # Given A-1: 5 on one shard, never reserved
    stores.stock(A_1=5)
    assert stores.reserved_writes("A-1") == [0]
    # When units are reserved, released, reserved again and committed, and the on-hand units are set
    reserve_stock(stores.ledger, "chk-1", lines(A_1=2), EXPIRES)
    release_reservation(stores.ledger, "chk-1")
    reserve_stock(stores.ledger, "chk-2", lines(A_1=1), EXPIRES)
    reserve_stock(stores.ledger, "chk-2", lines(A_1=1), EXPIRES)  # a replay writes nothing
    commit_reservation(stores.ledger, "chk-2")
    set_on_hand(stores.ledger, "A-1", 9)  # `reserved` unchanged: not counted
    # Then each of the four writes to `reserved` counted once (what the stock audit compares)
    assert stores.reserved_writes("A-1") == [4]


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
    assert get_stock(stores.ledger, "A-1").to_json() == {
        "sku": "A-1",
        "onHand": 4,
        "reserved": 0,
        "available": 4,
        "shards": 1,
        "purchaseLimit": None,
    }
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
    assert set_on_hand(stores.ledger, "A-1", 3).to_json() == {
        "sku": "A-1",
        "onHand": 3,
        "reserved": 3,
        "available": 0,
        "shards": 1,
        "purchaseLimit": None,
    }
    stores.assert_counters_consistent("A-1")


# ---------------------------------------------------------------------- shards


def test_shards_spread_on_hand_and_sum_back(stores: Stores) -> None:
    # Given A-1 with 10 units, When spread over 4 shards
    stores.stock(A_1=10)
    stock = set_stock(stores.ledger, "A-1", StockSettings(10, shards=4))
    # Then the totals are the same, and each shard holds an even share
    assert stock.to_json() == {
        "sku": "A-1",
        "onHand": 10,
        "reserved": 0,
        "available": 10,
        "shards": 4,
        "purchaseLimit": None,
    }
    assert get_stock(stores.ledger, "A-1") == stock
    if stores.table:
        assert sorted(i["available"] for i in stores.shard_items("A-1")) == [2, 2, 3, 3]
    # And the catalog shows the sum on the product
    reserve_stock(stores.ledger, "chk-c1", lines(A_1=3), EXPIRES)
    product = stores.catalog.get(stores.product_id)
    assert product is not None
    assert [(v.stock.on_hand, v.stock.reserved, v.stock.available) for v in product.variants] == [(10, 3, 7)]
    stores.assert_counters_consistent("A-1")


def test_a_short_shard_spills_to_the_others_and_release_returns_to_each(stores: Stores) -> None:
    # Given 8 units over 4 shards (2 each)
    stores.stock(A_1=8)
    set_stock(stores.ledger, "A-1", StockSettings(8, shards=4))
    # When 7 are reserved (more than any one shard holds)
    reservation = reserve_stock(stores.ledger, "chk-s1", lines(A_1=7), EXPIRES)
    # Then they come from all four shards, recorded on the reservation
    assert sum(t.quantity for t in reservation.takes) == 7
    assert sorted(t.shard for t in reservation.takes) == [0, 1, 2, 3]
    assert stores.ledger.get_reservation("chk-s1") == reservation
    assert get_stock(stores.ledger, "A-1").available == 1
    stores.assert_counters_consistent("A-1")
    # And more than what is left is refused, naming the total available
    with pytest.raises(OutOfStock) as raised:
        reserve_stock(stores.ledger, "chk-s2", lines(A_1=2), EXPIRES)
    assert raised.value.shortages[0].available == 1
    # When released, Then every shard has its 2 again
    release_reservation(stores.ledger, "chk-s1")
    assert get_stock(stores.ledger, "A-1").available == 8
    if stores.table:
        assert sorted(i["available"] for i in stores.shard_items("A-1")) == [2, 2, 2, 2]
    stores.assert_counters_consistent("A-1")


def test_reserved_units_survive_a_reshard_and_go_back_exactly_once(stores: Stores) -> None:
    # Given 8 units over 4 shards, 6 reserved by one checkout and 1 by another
    stores.stock(A_1=8)
    set_stock(stores.ledger, "A-1", StockSettings(8, shards=4))
    reserve_stock(stores.ledger, "chk-r1", lines(A_1=6), EXPIRES)
    reserve_stock(stores.ledger, "chk-r2", lines(A_1=1), EXPIRES)
    # When resharded down to 1 shard, with on hand unchanged
    stock = set_stock(stores.ledger, "A-1", StockSettings(8, shards=1))
    # Then nothing moved that was reserved, and the 1 unit left is on the remaining shard
    assert (stock.on_hand, stock.reserved, stock.available, stock.shards) == (8, 7, 1, 1)
    stores.assert_counters_consistent("A-1")
    # When the first is released (twice) and the second committed (twice)
    release_reservation(stores.ledger, "chk-r1")
    release_reservation(stores.ledger, "chk-r1")
    commit_reservation(stores.ledger, "chk-r2")
    commit_reservation(stores.ledger, "chk-r2")
    # Then the units came back (and left) exactly once, all takeable on the one shard
    assert get_stock(stores.ledger, "A-1").to_json() == {
        "sku": "A-1",
        "onHand": 7,
        "reserved": 0,
        "available": 7,
        "shards": 1,
        "purchaseLimit": None,
    }
    stores.assert_counters_consistent("A-1")
    assert reserve_stock(stores.ledger, "chk-r3", lines(A_1=7), EXPIRES).takes[0].shard == 0
    # And a later reshard gathers the drained shards away: only the SKU item is left
    release_reservation(stores.ledger, "chk-r3")
    set_stock(stores.ledger, "A-1", StockSettings(7, shards=1))
    if stores.table:
        assert len(stores.shard_items("A-1")) == 1
    stores.assert_counters_consistent("A-1")


def test_resharding_up_again_reactivates_a_shard_that_still_holds_units(stores: Stores) -> None:
    # Given 3 shards, a reservation on all of them, then a reshard to 1 and back to 3
    stores.stock(A_1=6)
    set_stock(stores.ledger, "A-1", StockSettings(6, shards=3))
    reserve_stock(stores.ledger, "chk-u1", lines(A_1=6), EXPIRES)
    set_stock(stores.ledger, "A-1", StockSettings(9, shards=1))
    set_stock(stores.ledger, "A-1", StockSettings(9, shards=3))
    # When the reservation is released
    release_reservation(stores.ledger, "chk-u1")
    # Then all 9 are available, spread over the 3 active shards
    assert get_stock(stores.ledger, "A-1").available == 9
    stores.assert_counters_consistent("A-1")
    assert reserve_stock(stores.ledger, "chk-u2", lines(A_1=9), EXPIRES).status is ReservationStatus.RESERVED


def test_bad_shard_counts_and_limits_and_below_reserved_change_nothing(stores: Stores) -> None:
    # Given 5 units over 2 shards with 4 reserved
    stores.stock(A_1=5)
    set_stock(stores.ledger, "A-1", StockSettings(5, shards=2, purchase_limit=4))
    reserve_stock(stores.ledger, "chk-b1", lines(A_1=4), EXPIRES)
    before = get_stock(stores.ledger, "A-1")
    # When shards or limits are out of range, or on hand goes below reserved with a reshard
    for bad in (
        StockSettings(5, shards=0),
        StockSettings(5, shards=MAX_SHARDS + 1),
        StockSettings(5, purchase_limit=0),
        StockSettings(5, purchase_limit=-3),
    ):
        with pytest.raises(ValidationFailed):
            set_stock(stores.ledger, "A-1", bad)
    with pytest.raises(BelowReserved):
        set_stock(stores.ledger, "A-1", StockSettings(3, shards=8, purchase_limit=None))
    # Then nothing changed
    assert get_stock(stores.ledger, "A-1") == before
    stores.assert_counters_consistent("A-1")


# ---------------------------------------------------------------------- purchase limits


def test_purchase_limit_counts_open_and_bought_units_per_buyer(stores: Stores) -> None:
    # Given A-1 limited to 3 per buyer, and B-1 unlimited
    stores.stock(A_1=20, B_1=20)
    set_stock(stores.ledger, "A-1", StockSettings(20, shards=2, purchase_limit=3))
    assert get_stock(stores.ledger, "A-1").purchase_limit == 3
    buyer = "SESSION#s-1"
    reserve_stock(stores.ledger, "chk-l1", lines(A_1=2), EXPIRES, buyer=buyer)
    # When the same buyer asks for 2 more (and 1 B-1), Then PURCHASE_LIMIT on that line, nothing reserved
    with pytest.raises(PurchaseLimitExceeded) as raised:
        reserve_stock(stores.ledger, "chk-l2", lines(B_1=1, A_1=2), EXPIRES, buyer=buyer)
    assert raised.value.code is ErrorCode.PURCHASE_LIMIT
    assert [(p.field, p.code) for p in raised.value.errors] == [("lines[1].quantity", "PURCHASE_LIMIT")]
    assert stores.ledger.get_reservation("chk-l2") is None
    assert get_stock(stores.ledger, "A-1").reserved == 2
    assert get_stock(stores.ledger, "B-1").reserved == 0
    # And another buyer is not affected
    reserve_stock(stores.ledger, "chk-o1", lines(A_1=3), EXPIRES, buyer="CUSTOMER#c-9")
    # When the buyer takes its last unit and buys it, then releases the first reservation
    reserve_stock(stores.ledger, "chk-l3", lines(A_1=1), EXPIRES, buyer=buyer)
    commit_reservation(stores.ledger, "chk-l3")
    release_reservation(stores.ledger, "chk-l1")
    # Then the released units count no more, the bought one still does
    reserve_stock(stores.ledger, "chk-l4", lines(A_1=2), EXPIRES, buyer=buyer)
    with pytest.raises(PurchaseLimitExceeded):
        reserve_stock(stores.ledger, "chk-l5", lines(A_1=1), EXPIRES, buyer=buyer)
    # And a limit set back to null lifts it
    set_stock(stores.ledger, "A-1", StockSettings(20, purchase_limit=None))
    reserve_stock(stores.ledger, "chk-l6", lines(A_1=5), EXPIRES, buyer=buyer)
    stores.assert_counters_consistent("A-1", "B-1")


def test_a_line_over_the_limit_on_its_own_is_refused(stores: Stores) -> None:
    # Given a limit of 2, When a buyer asks for 3 at once, Then PURCHASE_LIMIT and nothing reserved
    stores.stock(A_1=10)
    set_stock(stores.ledger, "A-1", StockSettings(10, purchase_limit=2))
    with pytest.raises(PurchaseLimitExceeded):
        reserve_stock(stores.ledger, "chk-x1", lines(A_1=3), EXPIRES, buyer="SESSION#s-2")
    assert get_stock(stores.ledger, "A-1").reserved == 0
    stores.assert_counters_consistent("A-1")
