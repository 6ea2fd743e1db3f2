"""The orders adapter over the Data API (boto3 rds-data -> local edge -> PostgreSQL), against the real schema.

Idempotent creation under concurrency, races decided by the status guard, what plain SQL readers see, and
EXPLAIN proof that the operators' and the storefront's queries use their indexes. What the in-memory fake must
do alike (round trip, transitions, listings) is in test_orders_repository_contract.py.
"""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from bench.orders import load_orders
from commerce.adapters.orders_db.orders import DataApiOrderRepository, find_statement
from commerce.domain.errors import CommerceError
from commerce.domain.orders.models import (
    OrderFilters,
    OrderOwner,
    OrderPosition,
    OrderStatus,
)
from commerce.domain.orders.service import (
    cancel_unpaid_order,
    create_order,
    mark_order_paid,
)
from tests.support.orders import T0, minutes, new_order
from tests.support.orders_db import OrdersCloud, orders_cloud

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cloud() -> OrdersCloud:
    return orders_cloud()


@pytest.fixture(scope="module")
def database(cloud: OrdersCloud) -> str:
    return cloud.migrated_database("adapter")


@pytest.fixture
def repository(cloud: OrdersCloud, database: str) -> DataApiOrderRepository:
    return cloud.repository(database)


def unique_email() -> str:
    return f"shopper-{uuid.uuid4().hex[:10]}@example.com"


def test_a_retried_create_returns_the_first_order_and_writes_nothing(
    cloud: OrdersCloud, database: str, repository: DataApiOrderRepository
) -> None:
    # Given a checkout that created its order
    first = create_order(repository, new_order())
    # When the checkout retries (a new order id, other details), even several times at once
    retries = [replace(new_order(checkout_id=first.checkout_id), email=unique_email()) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda order: create_order(cloud.repository(database), order), retries))
    # Then every retry gets the first order, and the database holds one order, two lines and one event for it
    assert all(result == first for result in results)
    with cloud.sql(database) as sql:
        counts = sql.execute(
            "SELECT (SELECT count(*) FROM orders WHERE checkout_id = %(c)s),"
            " (SELECT count(*) FROM order_lines l JOIN orders o USING (order_id) WHERE o.checkout_id = %(c)s),"
            " (SELECT count(*) FROM order_events e JOIN orders o USING (order_id) WHERE o.checkout_id = %(c)s)",
            {"c": first.checkout_id},
        ).fetchone()
    assert counts == (1, 2, 1)


def test_concurrent_first_creates_make_one_order(cloud: OrdersCloud, database: str) -> None:
    # Given one checkout whose create is delivered four times at once, before any of them committed
    checkout_id = f"chk_{uuid.uuid4().hex}"
    attempts = [new_order(checkout_id=checkout_id) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda order: cloud.repository(database).create(order), attempts))
    # Then they all answer the same order
    assert len({result.order_id for result in results}) == 1


def test_racing_transitions_cannot_both_win(cloud: OrdersCloud, database: str) -> None:
    # Given an unpaid order, and at the same instant: the payment webhook and an operator's cancel (twice each)
    order = create_order(cloud.repository(database), new_order())
    start = threading.Barrier(4)

    def attempt(kind: str) -> str:
        repository = cloud.repository(database)
        start.wait()
        try:
            if kind == "pay":
                mark_order_paid(repository, order.order_id, {"intentId": "pi_race"})
            else:
                cancel_unpaid_order(repository, order.order_id, "operator:op")
        except CommerceError as error:
            return error.code.value
        return "ok"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(attempt, ["pay", "cancel", "pay", "cancel"]))
    # Then exactly one status change happened, recorded by exactly one event; the others were refused or no-ops
    stored = cloud.repository(database).get(order.order_id)
    assert stored is not None
    changes = [e for e in stored.events if e.from_status is not None]
    assert len(changes) == 1
    assert stored.status is changes[0].to_status
    if stored.status is OrderStatus.CANCELLED:
        assert sorted(outcomes) == ["INVALID_TRANSITION", "INVALID_TRANSITION", "INVALID_TRANSITION", "ok"]
    else:  # paid: the second payment is an idempotent no-op; both cancels were refused
        assert sorted(outcomes) == ["INVALID_TRANSITION", "INVALID_TRANSITION", "ok", "ok"]


# ---------------------------------------------------------------------------------------------- listings


# ---------------------------------------------------------------------------------------------- indexes


@pytest.fixture(scope="module")
def loaded(cloud: OrdersCloud) -> str:
    """A database with 20,000 orders (ANALYZEd), enough for the planner to prefer indexes on its own."""
    database = cloud.migrated_database("explain")
    with cloud.sql(database) as sql:
        load_orders(sql, 20_000, seed="explain")
    return database


def plan_nodes(
    cloud: OrdersCloud, database: str, filters: OrderFilters, owner: OrderOwner | None
) -> list[dict[str, Any]]:
    """EXPLAIN of the adapter's own listing statement for a page after a keyset position, through the Data API."""
    after = OrderPosition(T0 + minutes(60 * 24 * 30), "80000000-0000-4000-8000-000000000000")
    sql, parameters = find_statement(filters, owner, 21, after)
    [row] = cloud.data_api(database).execute("EXPLAIN (FORMAT JSON) " + sql, parameters)
    plan = json.loads(next(iter(row.values())))[0]["Plan"]
    nodes: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        nodes.append(node)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return nodes


def assert_indexed(nodes: list[dict[str, Any]], *indexes: str) -> None:
    """Orders come through `indexes` with the keyset position as an index condition (not a filter over rows
    read), lines and events through their order_id indexes, and no table is scanned whole."""
    for index in indexes:
        [scan] = [node for node in nodes if node.get("Index Name") == index]
        assert "ROW(created_at, order_id) <" in scan["Index Cond"], scan
    assert not [node for node in nodes if node["Node Type"] == "Seq Scan"]
    used = {str(node["Index Name"]) for node in nodes if node.get("Index Name")}
    assert any(index.startswith("order_lines_") for index in used), used  # its pkey or its (order_id, sku) key
    assert "order_events_order_idx" in used


# The planner picks these on its own with 20,000 ANALYZEd orders: no enable_seqscan = off is needed.
@pytest.mark.slow
@pytest.mark.parametrize(
    ("filters", "owner", "indexes"),
    [
        (OrderFilters(status=OrderStatus.PAID), None, ["orders_status_created_idx"]),
        (OrderFilters(email="Customer42@example.com"), None, ["orders_email_created_idx"]),
        (OrderFilters(created_from=T0, created_to=T0 + minutes(60)), None, ["orders_created_idx"]),
        (OrderFilters(), None, ["orders_created_idx"]),
        (OrderFilters(), OrderOwner(session_id="bench-sess-42"), ["orders_session_created_idx"]),
        (
            OrderFilters(),
            OrderOwner(session_id="bench-sess-7", customer_id="bench-cust-7"),
            ["orders_session_created_idx", "orders_customer_created_idx"],
        ),
    ],
    ids=["status", "email", "created-range", "all", "session", "session-and-customer"],
)
def test_listings_use_their_index(
    cloud: OrdersCloud, loaded: str, filters: OrderFilters, owner: OrderOwner | None, indexes: list[str]
) -> None:
    # Given 20,000 orders, When the planner plans a listing page after a keyset position
    nodes = plan_nodes(cloud, loaded, filters, owner)
    # Then the filter's index serves it, keyset position included
    assert_indexed(nodes, *indexes)


def test_a_stored_order_satisfies_the_schema_for_direct_readers(cloud: OrdersCloud, database: str) -> None:
    # Given an order created through the adapter, When read with plain SQL, Then the columns hold what was sold
    repository = cloud.repository(database)
    order = create_order(repository, new_order(email=unique_email()))
    with psycopg.connect(cloud.conninfo(database), autocommit=True) as sql:
        row = sql.execute(
            "SELECT status, currency, subtotal_amount, total_amount, created_at FROM orders WHERE order_id = %s",
            [order.order_id],
        ).fetchone()
        lines = sql.execute(
            "SELECT sku, quantity, unit_amount, line_total_amount FROM order_lines"
            " WHERE order_id = %s ORDER BY line_no",
            [order.order_id],
        ).fetchall()
    assert row == ("PENDING_PAYMENT", "EUR", 3900, 3900, order.created_at)
    assert lines == [("TSHIRT-RED-M", 2, 1500, 3000), ("MUG-WHT", 1, 900, 900)]
