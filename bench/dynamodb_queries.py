"""DynamoDB Query cost in the local cloud as the table grows: moto's own Query against the local cloud's
candidate-first Query (localcloud.dynamodb.queries), measured in the same run on the same table.

A table like the commerce table (PK/SK, a sparse GSI1) is filled to each size; at each size the same queries
run with moto's Query and with the accelerated one: a partition of the table (a cart's lines) and a partition
of the index (one of the 16 held-reservation partitions the upkeep reads every run; 10 items each, as open
reservations stay few however many sessions, carts and checkouts the table holds), and a page of 100 items of
a Scan resumed at a key (as the TTL sweeper reads the table). Printed: milliseconds per
query and the ratio. No threshold: the figures are the point (README "The local cloud").

    python -m bench.dynamodb_queries [--sizes 1000 5000 20000] [--queries 100]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import boto3
from moto import mock_aws

from localcloud.dynamodb.queries import accelerate_queries, moto_own_reads

TABLE = "bench"


def _table(client: Any) -> None:
    client.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("PK", "SK", "GSI1PK", "GSI1SK")
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI1",
                "KeySchema": [
                    {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                    {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


def _fill(client: Any, start: int, end: int) -> None:
    for n in range(start, end):
        item = {"PK": {"S": f"CART#{n // 4}"}, "SK": {"S": f"LINE#{n % 4}"}, "quantity": {"N": "1"}}
        if n < 160:  # the index stays small while the table grows (open reservations), 10 per partition of 16
            item |= {"GSI1PK": {"S": f"HELD_RESERVATIONS#{n % 16:02d}"}, "GSI1SK": {"S": f"{n:08d}"}}
        client.put_item(TableName=TABLE, Item=item)


def _timed(queries: int, query: Callable[[int], Any]) -> float:
    """Milliseconds per query, over `queries` queries."""
    started = time.perf_counter()
    for n in range(queries):
        query(n)
    return 1000 * (time.perf_counter() - started) / queries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000], help="items in the table")
    parser.add_argument("--queries", type=int, default=100, help="queries of each kind at each size")
    args = parser.parse_args(argv)
    accelerate_queries()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _table(client)
        kinds: dict[str, Callable[[int], Any]] = {
            "table partition": lambda n: client.query(
                TableName=TABLE,
                KeyConditionExpression="PK = :p",
                ExpressionAttributeValues={":p": {"S": f"CART#{n}"}},
            ),
            "index partition": lambda n: client.query(
                TableName=TABLE,
                IndexName="GSI1",
                KeyConditionExpression="GSI1PK = :p",
                ExpressionAttributeValues={":p": {"S": f"HELD_RESERVATIONS#{n % 16:02d}"}},
            ),
            "scan page": lambda n: client.scan(
                TableName=TABLE,
                Limit=100,
                ExclusiveStartKey={"PK": {"S": f"CART#{n}"}, "SK": {"S": "LINE#0"}},
            ),
        }
        print(f"{'items':>8}  {'query':<16} {'moto ms':>9} {'local cloud ms':>15} {'ratio':>7}")
        filled = 0
        for size in args.sizes:
            _fill(client, filled, size)
            filled = size
            for kind, query in kinds.items():
                with moto_own_reads():
                    before = _timed(args.queries, query)
                after = _timed(args.queries, query)
                print(f"{size:>8}  {kind:<16} {before:>9.2f} {after:>15.2f} {before / after:>6.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
