"""Racing reservations against moto's server behind the local cloud's edge, with the real DynamoDB ledger.

In-process moto has no locking, so it could oversell; the edge serialises DynamoDB requests the way
DynamoDB makes each conditional write atomic. Threads use one boto3 client over real HTTP, as 50
concurrent Lambda invocations would.
"""

from __future__ import annotations

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
from commerce.adapters.dynamodb.keys import sku_key
from commerce.domain.catalog.models import ProductSpec, VariantSpec
from commerce.domain.catalog.service import create_product
from commerce.domain.inventory.errors import OutOfStock
from commerce.domain.inventory.models import ReservationLine, ReservationStatus
from commerce.domain.inventory.service import get_stock, release_reservation, reserve_stock, set_on_hand
from commerce.domain.money import Money
from localcloud.edge import EdgeApp
from localcloud.server import BackgroundServer
from tests.support.template import create_table

pytestmark = pytest.mark.integration

THREADS = 50
EXPIRES = datetime.now(UTC) + timedelta(hours=1)


class Edge:
    def __init__(self, client: Any, table: str) -> None:
        self.client, self.table = client, table
        self.ledger = DynamoDbStockLedger(table, client=client)
        self.catalog = DynamoDbCatalog(table, client=client)

    def stock(self, **on_hand: int) -> None:
        skus = [sku.replace("_", "-") for sku in on_hand]
        spec = ProductSpec("Hot item", "", "race", tuple(VariantSpec(s, s, Money(999, "EUR")) for s in skus))
        create_product(self.catalog, spec, now=datetime.now(UTC))
        for sku, units in zip(skus, on_hand.values(), strict=True):
            set_on_hand(self.ledger, sku, units)

    def sku_item(self, sku: str) -> dict[str, Any]:
        response = self.client.get_item(TableName=self.table, Key=to_attrs(sku_key(sku)), ConsistentRead=True)
        return from_attrs(response["Item"])

    def reservations(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in self.client.get_paginator("scan").paginate(TableName=self.table):
            items += [from_attrs(i) for i in page["Items"] if i["PK"]["S"].startswith("RESERVATION#")]
        return items


@pytest.fixture(scope="module")
def edge_server() -> Iterator[BackgroundServer]:
    with BackgroundServer(EdgeApp(), name="inventory-race-edge") as server:
        yield server


@pytest.fixture
def edge(edge_server: BackgroundServer) -> Edge:
    client = boto3.client(
        "dynamodb",
        endpoint_url=edge_server.url,
        region_name="us-east-1",
        config=Config(max_pool_connections=THREADS + 10, retries={"max_attempts": 3, "mode": "standard"}),
    )
    table = f"race-{uuid.uuid4().hex[:12]}"
    create_table(client, "CommerceTable", table)
    return Edge(client, table)


def test_fifty_threads_race_for_the_last_ten_units_and_exactly_ten_win(edge: Edge) -> None:
    # Given a SKU with exactly 10 units on hand
    edge.stock(HOT_1=10)
    seen_available: list[int] = []

    def reserve_one(i: int) -> bool:
        try:
            reserve_stock(edge.ledger, f"race-{i}", [ReservationLine("HOT-1", 1)], EXPIRES)
            won = True
        except OutOfStock:
            won = False
        seen_available.append(get_stock(edge.ledger, "HOT-1").available)
        return won

    # When 50 threads each try to reserve one unit at the same time
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(reserve_one, range(THREADS)))

    # Then exactly 10 reservations succeed, the counters say so, and no reading was ever negative
    assert sum(results) == 10
    stock = get_stock(edge.ledger, "HOT-1")
    assert (stock.on_hand, stock.reserved, stock.available) == (10, 10, 0)
    assert min(seen_available) >= 0
    item = edge.sku_item("HOT-1")
    assert item["available"] == item["onHand"] - item["reserved"] == 0
    assert len(edge.reservations()) == 10


def test_multi_line_reservations_race_all_or_nothing(edge: Edge) -> None:
    # Given A-1 with 30 units and B-1 with 10: every reservation wants one of each
    edge.stock(A_1=30, B_1=10)

    def reserve_pair(i: int) -> bool:
        try:
            reserve_stock(edge.ledger, f"pair-{i}", [ReservationLine("A-1", 1), ReservationLine("B-1", 1)], EXPIRES)
        except OutOfStock:
            return False
        return True

    # When 50 threads race
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(reserve_pair, range(THREADS)))

    # Then exactly 10 win, and the losers reserved no A-1 either (all or nothing)
    assert sum(results) == 10
    assert get_stock(edge.ledger, "A-1").reserved == 10
    assert get_stock(edge.ledger, "B-1").available == 0


def test_concurrent_releases_of_one_reservation_return_the_units_once(edge: Edge) -> None:
    # Given 4 of 10 units reserved by one checkout
    edge.stock(REL_1=10)
    reserve_stock(edge.ledger, "to-release", [ReservationLine("REL-1", 4)], EXPIRES)

    # When 20 threads release it at once (a retried upkeep run racing a payment failure)
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: release_reservation(edge.ledger, "to-release").status, range(20)))

    # Then every caller sees it released, and the 4 units came back exactly once
    assert set(statuses) == {ReservationStatus.RELEASED}
    stock = get_stock(edge.ledger, "REL-1")
    assert (stock.on_hand, stock.reserved, stock.available) == (10, 0, 10)
