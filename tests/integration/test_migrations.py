"""Migrations through the Data API (the real path: boto3 rds-data -> local edge -> PostgreSQL): from an empty
database, re-applied as a no-op, changed, failing half-way, raced; and the schema they build refuses invalid data.
"""

from __future__ import annotations

import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from commerce.adapters.orders_db.errors import StatementFailed
from commerce.adapters.orders_db.migrations import (
    MigrationChanged,
    MigrationError,
    apply_migrations,
    load_migrations,
)
from commerce.adapters.orders_db.parameters import Uuid
from commerce.domain.orders.lifecycle import status_changes
from tests.support.orders import new_order
from tests.support.orders_db import (
    CLUSTER_ARN,
    MIGRATIONS,
    SECRET_ARN,
    OrdersCloud,
    orders_cloud,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cloud() -> OrdersCloud:
    return orders_cloud()


def migrate(cloud: OrdersCloud, database: str, directory: Path = MIGRATIONS) -> list[str]:
    return apply_migrations(cloud.client, CLUSTER_ARN, SECRET_ARN, database, directory)


def tables(cloud: OrdersCloud, database: str) -> set[str]:
    rows = cloud.data_api(database).execute(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    return {row["name"] for row in rows}


def recorded(cloud: OrdersCloud, database: str) -> list[dict[str, Any]]:
    return cloud.data_api(database).execute(
        "SELECT version, checksum, applied_at::text AS applied_at FROM schema_migrations ORDER BY version"
    )


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, directory)
    return directory


def test_from_empty_then_again_is_a_no_op(cloud: OrdersCloud) -> None:
    # Given an empty database
    database = cloud.new_database("migrate")
    assert tables(cloud, database) == set()
    # When the migrations are applied
    first = migrate(cloud, database)
    # Then every migration ran, in order, and is recorded with its checksum
    expected = load_migrations(MIGRATIONS)
    assert first == [m.version for m in expected]
    assert {"orders", "order_lines", "order_events", "order_status_transitions", "schema_migrations"} <= tables(
        cloud, database
    )
    before = recorded(cloud, database)
    assert [(r["version"], r["checksum"]) for r in before] == [(m.version, m.checksum) for m in expected]
    # When they are applied again, Then nothing runs and nothing changes
    assert migrate(cloud, database) == []
    assert recorded(cloud, database) == before


def test_a_changed_migration_is_refused(cloud: OrdersCloud, migrations_copy: Path) -> None:
    # Given a database migrated with 0001, and 0001 edited afterwards
    database = cloud.migrated_database("changed")
    path = next(migrations_copy.glob("0001_*.sql"))
    path.write_text(path.read_text() + "\n-- edited after release\n")
    # When the migrations are applied, Then the change is refused: history is not rewritten
    with pytest.raises(MigrationChanged, match="0001"):
        migrate(cloud, database, migrations_copy)


def test_a_failing_migration_leaves_nothing_behind(cloud: OrdersCloud, migrations_copy: Path) -> None:
    # Given a database at the latest migration and a 0099 whose second statement fails
    database = cloud.migrated_database("failing")
    applied = [m.version for m in load_migrations(MIGRATIONS)]
    broken = migrations_copy / "0099_broken.sql"
    broken.write_text("CREATE TABLE half_done (id int);\nALTER TABLE no_such_table ADD COLUMN x int;\n")
    # When the migrations are applied
    with pytest.raises(MigrationError, match=r"0099_broken\.sql, statement 2 of 2") as failed:
        migrate(cloud, database, migrations_copy)
    # Then the error says what PostgreSQL said, 0099's first statement was rolled back, and 0099 is not recorded
    assert "no_such_table" in str(failed.value)
    assert "half_done" not in tables(cloud, database)
    assert [r["version"] for r in recorded(cloud, database)] == applied
    # And once fixed, it applies
    broken.write_text("CREATE TABLE half_done (id int);\n")
    assert migrate(cloud, database, migrations_copy) == ["0099"]
    assert "half_done" in tables(cloud, database)


def test_concurrent_runners_apply_each_migration_once(cloud: OrdersCloud) -> None:
    # Given an empty database and two runners starting together (two deploys, or a deploy and a local start)
    database = cloud.new_database("race")
    # When both apply the migrations
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: migrate(cloud, database), range(2)))
    # Then each migration was applied by exactly one of them, and both succeeded
    versions = [m.version for m in load_migrations(MIGRATIONS)]
    assert sorted(results[0] + results[1]) == versions
    assert [r["version"] for r in recorded(cloud, database)] == versions


# ---------------------------------------------------------------------------------------------- the schema


@pytest.fixture(scope="module")
def schema(cloud: OrdersCloud) -> str:
    return cloud.migrated_database("schema")


def test_the_databases_transitions_are_the_domains(cloud: OrdersCloud, schema: str) -> None:
    rows = cloud.data_api(schema).execute("SELECT from_status, to_status FROM order_status_transitions")
    assert {(r["from_status"], r["to_status"]) for r in rows} == {(a.value, b.value) for a, b in status_changes()}


@pytest.fixture
def stored_order_id(cloud: OrdersCloud, schema: str) -> str:
    return cloud.repository(schema).create(new_order()).order_id


INSERT_ORDER = (
    "INSERT INTO orders (order_id, checkout_id, session_id, customer_id, email, status, currency, subtotal_amount,"
    " total_amount, shipping_address, created_at, updated_at) VALUES (gen_random_uuid(), :checkout, :session, NULL,"
    " :email, :status, :currency, :amount, :amount, '{}'::jsonb, CAST(:created AS timestamptz),"
    " CAST(:created AS timestamptz))"
)
VALID_ORDER: dict[str, Any] = {
    "session": "s-1",
    "email": "a@example.com",
    "status": "PENDING_PAYMENT",
    "currency": "EUR",
    "amount": 100,
}


@pytest.mark.parametrize(
    ("change", "sqlstate"),
    [
        ({"status": "SHIPPED"}, "23514"),  # status CHECK
        ({"status": "PAID"}, "23514"),  # born PENDING_PAYMENT
        ({"currency": "eur"}, "23514"),
        ({"currency": "EU"}, "23514"),
        ({"amount": -1}, "23514"),
        ({"email": "nope"}, "23514"),
        ({"session": None}, "23514"),  # an order needs an owner
    ],
)
def test_invalid_orders_are_impossible(cloud: OrdersCloud, schema: str, change: dict[str, Any], sqlstate: str) -> None:
    # Given an order row with one thing wrong, When it is inserted directly, Then PostgreSQL refuses it
    parameters = {**VALID_ORDER, "checkout": f"chk-{uuid.uuid4().hex}", "created": "2026-03-01T12:00:00Z", **change}
    with pytest.raises(StatementFailed) as refused:
        cloud.data_api(schema).execute_update(INSERT_ORDER, parameters)
    assert refused.value.sqlstate == sqlstate


def test_timestamps_finer_than_a_millisecond_are_refused(cloud: OrdersCloud, schema: str) -> None:
    # Given a creation time finer than the API's milliseconds, Then it is refused (cursors compare exactly)
    parameters = {**VALID_ORDER, "checkout": "chk-micro", "created": "2026-03-01T12:00:00.000001Z"}
    with pytest.raises(StatementFailed) as refused:
        cloud.data_api(schema).execute_update(INSERT_ORDER, parameters)
    assert refused.value.sqlstate == "23514"


@pytest.mark.parametrize(
    ("statement", "sqlstate"),
    [
        # one order per checkout
        ("INSERT INTO orders SELECT gen_random_uuid(), checkout_id, session_id, customer_id, email, status, currency,"
         " subtotal_amount, total_amount, shipping_address, created_at, updated_at FROM orders"
         " WHERE order_id = :id", "23505"),
        # lines: quantities > 0, in the order's currency, for an existing order
        ("INSERT INTO order_lines (order_id, line_no, sku, product_id, name, quantity, unit_amount, currency)"
         " VALUES (:id, 9, 'X-1', 'p', 'n', 0, 100, 'EUR')", "23514"),
        ("INSERT INTO order_lines (order_id, line_no, sku, product_id, name, quantity, unit_amount, currency)"
         " VALUES (:id, 9, 'X-1', 'p', 'n', 1, 100, 'USD')", "23503"),
        ("INSERT INTO order_lines (order_id, line_no, sku, product_id, name, quantity, unit_amount, currency)"
         " VALUES (gen_random_uuid(), 0, 'X-1', 'p', 'n', 1, 100, 'EUR')", "23503"),
        ("UPDATE order_lines SET quantity = 5 WHERE order_id = :id", "23000"),  # lines are history
        ("DELETE FROM order_lines WHERE order_id = :id", "23000"),
        # events: append-only, and only lifecycle transitions
        ("UPDATE order_events SET actor = 'someone else' WHERE order_id = :id", "23000"),
        ("DELETE FROM order_events WHERE order_id = :id", "23000"),
        ("INSERT INTO order_events (order_id, type, from_status, to_status, actor, at)"
         " VALUES (:id, 'OrderFulfilled', 'PENDING_PAYMENT', 'FULFILLED', 'x', now())", "23503"),
        ("INSERT INTO order_events (order_id, type, from_status, to_status, actor, at)"
         " VALUES (:id, 'OrderPaid', NULL, 'PAID', 'x', now())", "23514"),
        # orders: only lifecycle transitions, never what was bought, never deleted
        ("UPDATE orders SET status = 'FULFILLED' WHERE order_id = :id", "23514"),
        ("UPDATE orders SET total_amount = 1 WHERE order_id = :id", "23514"),
        ("DELETE FROM orders WHERE order_id = :id", "23000"),
        # a status change without its event is refused at commit
        ("UPDATE orders SET status = 'PAID' WHERE order_id = :id", "23000"),
    ],
)  # fmt: skip
def test_invalid_changes_are_impossible(
    cloud: OrdersCloud, schema: str, stored_order_id: str, statement: str, sqlstate: str
) -> None:
    # Given a stored order, When a statement would break an invariant, Then PostgreSQL refuses it
    db = cloud.data_api(schema)
    before = cloud.repository(schema).get(stored_order_id)
    with pytest.raises(StatementFailed) as refused:
        db.execute_update(statement, {"id": Uuid(stored_order_id)})
    assert refused.value.sqlstate == sqlstate
    # And the order is exactly as it was
    assert cloud.repository(schema).get(stored_order_id) == before
