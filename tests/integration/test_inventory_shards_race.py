"""Sharded stock under real concurrency, against moto behind the local cloud's edge (threads over HTTP, as
concurrent Lambda invocations would call): resharding while buyers reserve, release and buy; purchase limits
under 50 concurrent requests from one buyer; and DynamoDB's partition limit on one hot SKU, unsharded vs
spread over 8 shards.

The partition-limit test stops the limiter's clock: each partition then has exactly one second's worth of
write units for the whole test, so what is throttled depends on how the writes spread over partitions,
not on how fast this machine is.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from commerce.adapters.dynamodb.catalog import DynamoDbCatalog
from commerce.adapters.dynamodb.client import from_attrs, to_attrs
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.keys import purchase_counter, purchases_key, sku_shard_key
from commerce.domain.catalog.models import ProductSpec, VariantSpec
from commerce.domain.catalog.service import create_product
from commerce.domain.errors import CommerceError, ErrorCode
from commerce.domain.inventory.errors import OutOfStock, PurchaseLimitExceeded
from commerce.domain.inventory.models import KEEP, MAX_SHARDS, ReservationLine, StockSettings
from commerce.domain.inventory.service import (
    commit_reservation,
    get_stock,
    release_reservation,
    reserve_stock,
    set_stock,
)
from commerce.domain.money import Money
from localcloud.edge import EdgeApp
from localcloud.server import BackgroundServer
from tests.support.template import create_table

pytestmark = pytest.mark.integration

EXPIRES = datetime.now(UTC) + timedelta(hours=1)


class Edge:
    def __init__(self, app: EdgeApp, client: Any, table: str) -> None:
        self.app, self.client, self.table = app, client, table
        self.ledger = DynamoDbStockLedger(table, client=client)
        self.catalog = DynamoDbCatalog(table, client=client)

    def stock(self, sku: str, on_hand: int, shards: int = 1, purchase_limit: int | None = None) -> None:
        spec = ProductSpec("Hot item", "", "race", (VariantSpec(sku, sku, Money(999, "EUR")),))
        create_product(self.catalog, spec, now=datetime.now(UTC))
        set_stock(self.ledger, sku, StockSettings(on_hand, shards=shards, purchase_limit=purchase_limit))

    def raw(self, key: dict[str, str]) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self.table, Key=to_attrs(key), ConsistentRead=True)
        return from_attrs(response["Item"]) if "Item" in response else None

    def shard_items(self, sku: str) -> list[dict[str, Any]]:
        return [item for index in range(MAX_SHARDS) if (item := self.raw(sku_shard_key(sku, index)))]

    def reservations(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.client.get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True):
            items += [from_attrs(i) for i in page["Items"] if i["PK"]["S"].startswith("RESERVATION#")]
        return items

    def assert_consistent(self, sku: str, on_hand: int) -> None:
        """Counters add up on every shard item, and to exactly what the open reservations hold."""
        open_units = sum(
            line["quantity"]
            for r in self.reservations()
            if r["status"] == "RESERVED"
            for line in r["lines"]
            if line["sku"] == sku
        )
        stock = get_stock(self.ledger, sku)
        assert (stock.on_hand, stock.reserved, stock.available) == (on_hand, open_units, on_hand - open_units)
        items = self.shard_items(sku)
        for item in items:
            assert item["available"] == item["onHand"] - item["reserved"] >= 0, item
            if item.get("active") is False:
                assert item["available"] == 0, item
        assert sum(i["onHand"] for i in items) == on_hand
        assert sum(i["reserved"] for i in items) == open_units


@pytest.fixture(scope="module")
def edge_server() -> Iterator[tuple[EdgeApp, BackgroundServer]]:
    app = EdgeApp()
    with BackgroundServer(app, name="inventory-shards-edge") as server:
        yield app, server


@pytest.fixture
def edge(edge_server: tuple[EdgeApp, BackgroundServer]) -> Iterator[Edge]:
    app, server = edge_server
    client = boto3.client(
        "dynamodb",
        endpoint_url=server.url,
        region_name="us-east-1",
        config=Config(max_pool_connections=64, retries={"max_attempts": 3, "mode": "standard"}),
    )
    table = f"shards-{uuid.uuid4().hex[:12]}"
    create_table(client, "CommerceTable", table)
    yield Edge(app, client, table)
    app.partition_limit.writes_per_second = None
    app.partition_limit.reset()


def test_resharding_while_buyers_reserve_release_and_buy_loses_and_invents_nothing(edge: Edge) -> None:
    # Given 200 units of one SKU on 1 shard
    edge.stock("RESHARD-1", 200)
    bought = [0]
    lock = threading.Lock()
    stop = threading.Event()

    def buyer(worker: int) -> None:
        rng = random.Random(worker)
        n = 0
        while not stop.is_set():
            n += 1
            rid = f"w{worker}-{n}"
            quantity = rng.randint(1, 4)
            try:
                reserve_stock(edge.ledger, rid, [ReservationLine("RESHARD-1", quantity)], EXPIRES)
            except (OutOfStock, CommerceError):
                continue  # sold out for now, or too contended: the buyer tries again
            choice = rng.random()
            if choice < 0.5:
                release_reservation(edge.ledger, rid)
            elif choice < 0.7:
                commit_reservation(edge.ledger, rid)
                with lock:
                    bought[0] += quantity
            # else: left open, holding its units

    # When 6 buyers run while an operator reshards 1 -> 8 -> 3 -> 1 -> 5 (shards only: on hand is theirs)
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(buyer, worker) for worker in range(6)]
        try:
            for shards in (8, 3, 1, 5):
                assert set_stock(edge.ledger, "RESHARD-1", StockSettings(KEEP, shards=shards)).shards == shards
        finally:
            stop.set()
        for future in futures:
            future.result()

    # Then every unit is where the reservations say: on hand = 200 - bought, reserved = the open ones
    edge.assert_consistent("RESHARD-1", 200 - bought[0])
    # And every open reservation still releases onto the shards it took from, exactly once
    for reservation in edge.reservations():
        if reservation["status"] == "RESERVED":
            release_reservation(edge.ledger, reservation["reservationId"])
    edge.assert_consistent("RESHARD-1", 200 - bought[0])
    assert get_stock(edge.ledger, "RESHARD-1").available == 200 - bought[0]


def test_fifty_concurrent_checkouts_of_one_buyer_never_pass_the_purchase_limit(edge: Edge) -> None:
    # Given 100 units over 4 shards, limited to 5 per buyer
    edge.stock("LIMIT-1", 100, shards=4, purchase_limit=5)
    buyer = "SESSION#bot-1"

    def attempt(i: int) -> bool:
        try:
            reserve_stock(edge.ledger, f"bot-{i}", [ReservationLine("LIMIT-1", 1)], EXPIRES, buyer=buyer)
        except PurchaseLimitExceeded:
            return False
        return True

    # When that buyer sends 50 reservations of one unit at once
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(attempt, range(50)))

    # Then exactly 5 hold units, the buyer's counter says 5, and the others reserved nothing
    assert sum(results) == 5
    counters = edge.raw(purchases_key(buyer))
    assert counters is not None
    assert counters[purchase_counter("LIMIT-1")] == 5
    edge.assert_consistent("LIMIT-1", 100)
    # And another buyer still gets its own 5
    assert reserve_stock(edge.ledger, "other", [ReservationLine("LIMIT-1", 5)], EXPIRES, buyer="SESSION#b-2")


def hot_sku_under_the_partition_limit(edge: Edge, sku: str, shards: int) -> tuple[int, int, int]:
    """60 concurrent one-unit reservations of `sku` with the partition limit on and its clock stopped:
    (reservations made, refused as BUSY, throttling errors the edge answered)."""
    edge.stock(sku, 100, shards=shards)
    limit = edge.app.partition_limit
    limit.reset()
    limit.clock = lambda: 0.0
    limit.writes_per_second = 40  # 20 reservations' worth per partition (a transaction item costs 2)

    def attempt(i: int) -> str:
        try:
            reserve_stock(edge.ledger, f"{sku}-{i}", [ReservationLine(sku, 1)], EXPIRES)
        except CommerceError as error:
            # Only BUSY with a Retry-After counts as busy; anything else fails the outcome check below.
            return "busy" if error.code is ErrorCode.BUSY and error.headers.get("Retry-After") else repr(error)
        return "made"

    try:
        with ThreadPoolExecutor(max_workers=30) as pool:
            outcomes = list(pool.map(attempt, range(60)))
        throttled = int(limit.throttled()["requests"])
    finally:
        limit.writes_per_second = None
    return outcomes.count("made"), outcomes.count("busy"), throttled


def test_one_hot_unsharded_sku_is_throttled_and_eight_shards_are_not(edge: Edge) -> None:
    # Given the partition limit on, When 60 buyers reserve one unit of an unsharded SKU at once
    made, busy, throttled = hot_sku_under_the_partition_limit(edge, "HOT-1", shards=1)
    # Then its one partition runs out: DynamoDB's throttling error, then 429 BUSY for what is left
    assert throttled > 0
    assert (made, busy) == (20, 40)  # 40 units = 20 transactions' writes on the SKU's one item
    edge.assert_consistent("HOT-1", 100)
    # When the same load hits a SKU over 8 shards
    made, busy, throttled = hot_sku_under_the_partition_limit(edge, "HOT-8", shards=8)
    # Then nothing is throttled and every buyer got a unit, none lost or invented
    assert (made, busy, throttled) == (60, 0, 0)
    edge.assert_consistent("HOT-8", 100)
