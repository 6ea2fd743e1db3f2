"""Reservations per second on one hot SKU under DynamoDB's partition limit: 1 shard vs 8 shards, in one run.

The local cloud's edge (moto behind it, the DynamoDB serialisation lock and the partition limit on, with a
real clock) serves the real DynamoDB ledger; buyer threads reserve one unit each, as fast as they can, for
a fixed time, first against a SKU on 1 shard, then against one on 8 shards. The limit is scaled to this
machine (`--limit` write units per partition key per second; AWS's is 1,000): a reservation is one
transaction and costs 2 units on the shard it takes from, so one shard caps at `limit / 2` reservations a
second, and 8 shards at 8 times that or at what the edge can serve, whichever is lower. The default limit
is set well under what this (shared, 2-core) machine's edge serves, so that the partition is what binds.

    python -m bench.hot_sku [--seconds 5] [--threads 16] [--limit 10]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
from botocore.config import Config

from commerce.adapters.dynamodb.catalog import DynamoDbCatalog
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.domain.catalog.models import ProductSpec, VariantSpec
from commerce.domain.catalog.service import create_product
from commerce.domain.errors import CommerceError
from commerce.domain.inventory.models import ReservationLine, StockSettings
from commerce.domain.inventory.service import get_stock, reserve_stock, set_stock
from commerce.domain.money import Money
from localcloud.edge import EdgeApp
from localcloud.server import BackgroundServer
from tests.support.template import create_table

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")

UNITS = 1_000_000
EXPIRES = datetime.now(UTC) + timedelta(hours=1)


@dataclass
class Run:
    shards: int
    seconds: float
    made: int
    busy: int
    throttled: int
    reserved: int
    on_hand: int

    @property
    def per_second(self) -> float:
        return self.made / self.seconds


def run(app: EdgeApp, url: str, shards: int, seconds: float, threads: int, limit: float) -> Run:
    client = boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(max_pool_connections=threads + 4, retries={"max_attempts": 3, "mode": "standard"}),
    )
    table = f"hot-{uuid.uuid4().hex[:8]}"
    create_table(client, "CommerceTable", table)
    ledger, catalog = DynamoDbStockLedger(table, client=client), DynamoDbCatalog(table, client=client)
    sku = f"HOT-{shards}"
    create_product(catalog, ProductSpec("Hot", "", "bench", (VariantSpec(sku, sku, Money(100, "EUR")),)), now=EXPIRES)
    set_stock(ledger, sku, StockSettings(UNITS, shards=shards))

    app.partition_limit.reset()
    app.partition_limit.writes_per_second = limit
    made, busy = [0], [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def buyer(worker: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            n += 1
            try:
                reserve_stock(ledger, f"b{worker}-{n}", [ReservationLine(sku, 1)], EXPIRES)
                outcome = made
            except CommerceError:  # BUSY: throttled past the ledger's retries
                outcome = busy
            with lock:
                outcome[0] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(buyer, range(threads)))
    elapsed = time.monotonic() - started
    throttled = int(app.partition_limit.throttled()["requests"])
    app.partition_limit.writes_per_second = None
    stock = get_stock(ledger, sku)
    return Run(shards, elapsed, made[0], busy[0], throttled, stock.reserved, stock.on_hand)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--limit", type=float, default=10.0, help="write units per partition key per second")
    args = parser.parse_args()
    app = EdgeApp()
    with BackgroundServer(app, name="bench-hot-sku") as server:
        runs = [run(app, server.url, shards, args.seconds, args.threads, args.limit) for shards in (1, 8)]
    print(
        f"hot SKU, partition limit {args.limit:g} write units/s per key "
        f"({args.limit / 2:g} reservations/s per shard), {args.threads} buyer threads, {args.seconds:g} s each"
    )
    for r in runs:
        print(
            f"  {r.shards} shard{'s' if r.shards > 1 else ' '}: {r.per_second:7.1f} reservations/s sustained "
            f"({r.made} made, {r.busy} refused BUSY, {r.throttled} throttling errors from the edge; "
            f"units reserved = made: {r.reserved == r.made}, on hand kept: {r.on_hand == UNITS})"
        )
    one, eight = runs
    ratio = eight.per_second / one.per_second if one.per_second else float("inf")
    print(f"  8 shards / 1 shard: {ratio:.1f}x")


if __name__ == "__main__":
    main()
