"""The operators' order search over 100,000 orders: GET /admin/orders?status=PAID, first page and a deep page.

Everything runs locally, the way the functions run it: an embedded PostgreSQL with the project's migrations
(applied through the Data API), the local RDS Data API behind the local cloud's edge, and the orders
adapter (`DataApiOrderRepository.find`) through boto3's `rds-data` client. The same statement is also
timed as direct SQL (psycopg, one warm connection) in the same run, so the table shows what the Data API
path costs on top of the query itself. The orders are bulk-loaded with plain SQL (a consistent history
per order: creation, payment, fulfilment, cancel or refund events), then ANALYZEd.

It prints figures; it never fails (an error is printed, and the exit status stays 0).

    python -m bench.orders [--orders 100000] [--runs 200] [--deep-page 200]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devcloud.progress import Advance, no_progress, progress_bar

ROOT = Path(__file__).resolve().parents[1]

CLUSTER_ARN = "arn:aws:rds:us-east-1:123456789012:cluster:bench-orders"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-orders-AbCdEf"  # noqa: S105 - an ARN
PAGE = 20

# Statuses in the proportions of a shop's history: most orders shipped long ago; 5% PAID (awaiting
# fulfilment: what operators list), 2% awaiting payment, 8% cancelled, 5% refunded.
_LOAD_ORDERS = """
INSERT INTO orders (order_id, checkout_id, session_id, customer_id, email, status, currency,
                    subtotal_amount, total_amount, shipping_address, created_at, updated_at)
SELECT md5(%(seed)s || ':' || g)::uuid,
       'bench-chk-' || %(seed)s || '-' || g,
       'bench-sess-' || (g %% 20000),
       CASE WHEN g %% 3 = 0 THEN 'bench-cust-' || (g %% 7000) END,
       'customer' || (g %% 5000) || '@example.com',
       CASE WHEN g %% 100 < 2 THEN 'PENDING_PAYMENT' WHEN g %% 100 < 7 THEN 'PAID' WHEN g %% 100 < 15 THEN 'CANCELLED'
            WHEN g %% 100 < 20 THEN 'REFUNDED' ELSE 'FULFILLED' END,
       'EUR', 3900, 3900,
       '{"name":"Ada Lovelace","line1":"12 Analytical St","city":"London","postalCode":"N1 9GU","country":"GB"}',
       timestamptz '2025-01-01 00:00:00+00' + g * interval '17 seconds',
       timestamptz '2025-01-01 00:00:00+00' + g * interval '17 seconds' + interval '1 hour'
FROM generate_series(%(first)s::integer, %(last)s::integer) AS g"""

# The orders of one chunk (`first`..`last`): the lines and events below are added to those only.
_CHUNK = (
    "o.order_id IN (SELECT md5(%(seed)s || ':' || g)::uuid"
    " FROM generate_series(%(first)s::integer, %(last)s::integer) AS g)"
)
LOAD_CHUNK = 10_000  # orders per statement: a step of the progress bar

_LOAD_LINES = (
    """
INSERT INTO order_lines (order_id, line_no, sku, product_id, name, quantity, unit_amount, currency)
SELECT o.order_id, l.line_no, l.sku, l.product_id, l.name, l.quantity, l.unit_amount, 'EUR'
FROM orders o
CROSS JOIN (VALUES (0, 'TSHIRT-RED-M', 'p-tshirt', 'Organic T-Shirt, Red / M', 2, 1500),
                   (1, 'MUG-WHT', 'p-mug', 'Mug, White', 1, 900))
     AS l(line_no, sku, product_id, name, quantity, unit_amount)
WHERE """
    + _CHUNK
)

# What a FULFILLED order's OrderFulfilled event records: every line shipped (db/migrations/0005_fulfilments.sql).
_FULFILMENT = json.dumps(
    {"fulfillmentId": "bench", "lines": [{"sku": "TSHIRT-RED-M", "quantity": 2}, {"sku": "MUG-WHT", "quantity": 1}]}
)

# Each status's history, in order: what the lifecycle says must have happened to reach it.
_LOAD_EVENTS = (
    """
INSERT INTO order_events (order_id, type, from_status, to_status, actor, at, detail)
SELECT o.order_id, p.type, p.from_status, p.to_status, 'bench', o.created_at + p.step * interval '1 minute',
       CASE WHEN p.type = 'OrderFulfilled' THEN %(fulfilment)s::jsonb ELSE '{}'::jsonb END
FROM orders o
JOIN (VALUES
    ('PENDING_PAYMENT', 0, 'OrderCreated', NULL, 'PENDING_PAYMENT'),
    ('PAID', 0, 'OrderCreated', NULL, 'PENDING_PAYMENT'),
    ('PAID', 1, 'PaymentSucceeded', 'PENDING_PAYMENT', 'PAID'),
    ('FULFILLED', 0, 'OrderCreated', NULL, 'PENDING_PAYMENT'),
    ('FULFILLED', 1, 'PaymentSucceeded', 'PENDING_PAYMENT', 'PAID'),
    ('FULFILLED', 2, 'OrderFulfilled', 'PAID', 'FULFILLED'),
    ('CANCELLED', 0, 'OrderCreated', NULL, 'PENDING_PAYMENT'),
    ('CANCELLED', 1, 'OrderCancelled', 'PENDING_PAYMENT', 'CANCELLED'),
    ('REFUNDED', 0, 'OrderCreated', NULL, 'PENDING_PAYMENT'),
    ('REFUNDED', 1, 'PaymentSucceeded', 'PENDING_PAYMENT', 'PAID'),
    ('REFUNDED', 2, 'OrderRefunded', 'PAID', 'REFUNDED')
) AS p(status, step, type, from_status, to_status) ON p.status = o.status
WHERE """
    + _CHUNK
    + """
ORDER BY o.order_id, p.step"""
)


def load_orders(connection: Any, count: int, seed: str = "0", *, advance: Advance = no_progress) -> None:
    """Bulk-load `count` consistent orders (with lines and event histories) with direct SQL, then ANALYZE;
    `advance(n)` is told of each chunk of n orders loaded.

    The rows are built to satisfy every constraint, and the load runs with triggers off
    (session_replication_role = replica, a superuser setting) so that it takes seconds, not the hours the
    per-row lifecycle checks would add up to. Used by this bench and by the EXPLAIN tests.
    """
    with connection.transaction():
        connection.execute("SET LOCAL session_replication_role = replica")
        for first in range(1, count + 1, LOAD_CHUNK):
            last = min(first + LOAD_CHUNK - 1, count)
            for statement in (_LOAD_ORDERS, _LOAD_LINES, _LOAD_EVENTS):
                connection.execute(statement, {"seed": seed, "first": first, "last": last, "fulfilment": _FULFILMENT})
            advance(last - first + 1)
    connection.execute("ANALYZE orders")
    connection.execute("ANALYZE order_lines")
    connection.execute("ANALYZE order_events")


def as_psycopg(sql: str, parameters: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A Data API statement (`:name`, typed parameters) as the same statement for psycopg (`%(name)s`)."""
    from commerce.adapters.orders_db.parameters import Json, Uuid

    names = "|".join(sorted(parameters, key=len, reverse=True))
    text = re.sub(rf"(?<![:\w]):({names})\b", r"%(\1)s", sql.replace("%", "%%"))
    values: dict[str, Any] = {}
    for name, value in parameters.items():
        if isinstance(value, Uuid):
            value = uuid.UUID(value.value)
        elif isinstance(value, Json):
            value = str(value.value)
        elif isinstance(value, datetime):
            value = value.astimezone(UTC).replace(tzinfo=None)  # CAST(... AS timestamp) AT TIME ZONE 'UTC'
        values[name] = value
    return text, values


def timings(call: Callable[[], object], runs: int) -> list[float]:
    call()  # warm: connections, plans, caches
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples) * 1000, cuts[98] * 1000


def run(orders: int, runs: int, deep_page: int) -> None:
    import boto3
    import psycopg
    from botocore.config import Config
    from psycopg.conninfo import make_conninfo

    from commerce.adapters.orders_db.data_api import DataApi
    from commerce.adapters.orders_db.migrations import apply_migrations
    from commerce.adapters.orders_db.orders import DataApiOrderRepository, find_statement
    from commerce.domain.orders.models import OrderFilters, OrderPosition, OrderStatus
    from localcloud.edge import EdgeApp
    from localcloud.orders_db import DataApiApp, EmbeddedPostgres, is_data_api
    from localcloud.server import BackgroundServer

    workdir = Path(tempfile.mkdtemp(prefix="bench-orders-"))
    postgres = EmbeddedPostgres(workdir / "postgres", database="commerce")
    started = time.perf_counter()
    postgres.start()
    app = DataApiApp(postgres.conninfo, database="commerce", resuming_seconds=0)
    edge = EdgeApp()
    edge.intercept(is_data_api, app)
    try:
        with BackgroundServer(edge, name="bench-data-api") as server:
            client = boto3.client(
                "rds-data",
                endpoint_url=server.url,
                region_name="us-east-1",
                aws_access_key_id="bench",  # the local edge takes any credentials
                aws_secret_access_key="bench",  # noqa: S106
                config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
            )
            apply_migrations(client, CLUSTER_ARN, SECRET_ARN, "commerce", ROOT / "db" / "migrations")
            with psycopg.connect(make_conninfo(postgres.conninfo, dbname="commerce"), autocommit=True) as sql:
                sql.execute("SET TIME ZONE 'UTC'")
                with progress_bar("loading orders", orders) as advance:
                    load_orders(sql, orders, seed="bench", advance=advance)
                print(f"loaded {orders:,} orders in {time.perf_counter() - started:.1f} s (incl. server start)")
                repository = DataApiOrderRepository(DataApi(client, CLUSTER_ARN, SECRET_ARN, "commerce"))
                paid = OrderFilters(status=OrderStatus.PAID)
                deep_row = sql.execute(
                    "SELECT created_at, order_id::text FROM orders WHERE status = 'PAID'"
                    " ORDER BY created_at DESC, order_id DESC OFFSET %s LIMIT 1",
                    [deep_page * PAGE - 1],
                ).fetchone()
                deep = OrderPosition(deep_row[0].astimezone(UTC), deep_row[1]) if deep_row else None
                cases = {"first page": None, f"page {deep_page + 1} (keyset)": deep}
                print(f"GET /admin/orders?status=PAID&limit={PAGE}: {runs} runs each, milliseconds")
                print(f"{'page':<22} {'path':<28} {'p50':>8} {'p99':>8}")
                for label, after in cases.items():
                    page = repository.find(paid, None, PAGE, after)
                    assert len(page.orders) == PAGE, "the bench data has fewer PAID orders than the page asks"
                    statement, values = as_psycopg(*find_statement(paid, None, PAGE, after))

                    def through_data_api(after: OrderPosition | None = after) -> object:
                        return repository.find(paid, None, PAGE, after)

                    def direct_sql(statement: str = statement, values: dict[str, Any] = values) -> object:
                        return sql.execute(statement, values).fetchall()

                    api = percentiles(timings(through_data_api, runs))
                    direct = percentiles(timings(direct_sql, runs))
                    ratio = (api[0] / direct[0], api[1] / direct[1])
                    print(f"{label:<22} {'Data API (adapter, boto3)':<28} {api[0]:>8.2f} {api[1]:>8.2f}")
                    print(f"{'':<22} {'direct SQL (psycopg)':<28} {direct[0]:>8.2f} {direct[1]:>8.2f}")
                    print(f"{'':<22} {'ratio Data API / direct':<28} {ratio[0]:>8.1f} {ratio[1]:>8.1f}")
    finally:
        app.close()
        postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--deep-page", type=int, default=200, help="which page to time besides the first")
    args = parser.parse_args()
    try:
        run(args.orders, args.runs, args.deep_page)
    except Exception:  # a benchmark reports; it never fails the build
        print("bench.orders could not finish:", file=sys.stderr)
        traceback.print_exc()


if __name__ == "__main__":
    main()
