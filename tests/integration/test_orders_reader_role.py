"""The read-only database user (migration 0004, commerce_reader) through the local Data API: with the
reader's secret a call logs in as that user (its password checked by PostgreSQL), reads every order table and
is refused every write the way the Data API refuses it (BadRequestException with PostgreSQL's message)."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError

from commerce.adapters.orders_db.orders import DataApiOrderRepository
from commerce.adapters.orders_db.reader import READER_ROLE, ReaderSecretInvalid, set_reader_password
from commerce.domain.orders.models import OrderFilters
from commerce.domain.orders.service import create_order, mark_order_paid
from tests.support.orders import new_order
from tests.support.orders_db import (
    CLUSTER_ARN,
    READER_PASSWORD,
    READER_SECRET_ARN,
    READER_SECRET_STRING,
    SECRET_ARN,
    OrdersCloud,
    orders_cloud,
)

pytestmark = pytest.mark.integration

WRITES = {
    "orders": "UPDATE orders SET status = 'CANCELLED' WHERE order_id = :id::uuid",
    "order_lines": "DELETE FROM order_lines WHERE order_id = :id::uuid",
    "order_events": "INSERT INTO order_events (order_id, type, actor, at, detail) "
    "SELECT order_id, 'Noted', actor, at, detail FROM order_events WHERE order_id = :id::uuid",
    "order_status_transitions": "INSERT INTO order_status_transitions (from_status, to_status) "
    "VALUES ('REFUNDED', 'PAID')",
}


@pytest.fixture(scope="module")
def shop() -> tuple[OrdersCloud, str, str]:
    cloud = orders_cloud()
    database = cloud.migrated_database("reader")
    repository = cloud.repository(database)
    order = mark_order_paid(repository, create_order(repository, new_order()).order_id, {})
    return cloud, database, order.order_id


def as_reader(cloud: OrdersCloud, database: str, sql: str, order_id: str, **kwargs: Any) -> dict[str, Any]:
    parameters = [{"name": "id", "value": {"stringValue": order_id}}] if ":id" in sql else []
    return dict(
        cloud.client.execute_statement(
            resourceArn=CLUSTER_ARN,
            secretArn=READER_SECRET_ARN,
            database=database,
            sql=sql,
            parameters=parameters,
            **kwargs,
        )
    )


def refused(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    assert error["Code"] == "BadRequestException"
    return str(error["Message"])


def fingerprint(cloud: OrdersCloud, database: str) -> tuple[Any, ...]:
    with cloud.sql(database) as sql:
        row = sql.execute(
            "SELECT (SELECT string_agg(order_id::text || status, ',' ORDER BY order_id) FROM orders),"
            " (SELECT count(*) FROM order_lines), (SELECT count(*) FROM order_events),"
            " (SELECT count(*) FROM order_status_transitions)"
        ).fetchone()
    return tuple(row or ())


def test_the_reader_logs_in_as_commerce_reader_and_reads_every_order_table(shop: tuple[OrdersCloud, str, str]) -> None:
    cloud, database, order_id = shop
    # Given the reader's secret, Then the statement runs as commerce_reader, not as the master user
    [[current, session]] = as_reader(cloud, database, "SELECT current_user, session_user", order_id)["records"]
    assert current == session == {"stringValue": READER_ROLE}
    # And it reads the orders, their lines, their events and the lifecycle
    for table in ("orders", "order_lines", "order_events", "order_status_transitions"):
        records = as_reader(cloud, database, f"SELECT count(*) FROM {table}", order_id)["records"]  # noqa: S608
        assert records[0][0]["longValue"] > 0, table
    # And the repository the reader functions use finds and gets the order through it
    repository = DataApiOrderRepository(cloud.reader_data_api(database))
    order = repository.get(order_id)
    assert order is not None
    assert order.status.value == "PAID"
    page = repository.find(OrderFilters(), None, 10, None)
    assert [o.order_id for o in page.orders] == [order_id]


@pytest.mark.parametrize("table", WRITES)
def test_every_write_is_refused_as_postgresql_refuses_it(shop: tuple[OrdersCloud, str, str], table: str) -> None:
    cloud, database, order_id = shop
    before = fingerprint(cloud, database)
    # When the reader writes (autocommit), Then the Data API answers PostgreSQL's permission error
    message = refused(lambda: as_reader(cloud, database, WRITES[table], order_id))
    assert message.startswith(f"ERROR: permission denied for table {table}")
    assert message.endswith("; SQLState: 42501")
    # And nothing changed
    assert fingerprint(cloud, database) == before


def test_a_write_inside_a_reader_transaction_is_refused_and_the_transaction_cannot_commit(
    shop: tuple[OrdersCloud, str, str],
) -> None:
    cloud, database, order_id = shop
    before = fingerprint(cloud, database)
    transaction_id = cloud.client.begin_transaction(
        resourceArn=CLUSTER_ARN, secretArn=READER_SECRET_ARN, database=database
    )["transactionId"]
    message = refused(lambda: as_reader(cloud, database, WRITES["orders"], order_id, transactionId=transaction_id))
    assert "permission denied for table orders" in message
    commit = refused(
        lambda: cloud.client.commit_transaction(
            resourceArn=CLUSTER_ARN, secretArn=READER_SECRET_ARN, transactionId=transaction_id
        )
    )
    assert "permission denied for table orders" in commit
    assert fingerprint(cloud, database) == before


def test_a_reader_transaction_is_not_the_master_users(shop: tuple[OrdersCloud, str, str]) -> None:
    # Given a transaction begun with the reader's secret, When the master's secret names it, Then it is not found
    # (a reader's transaction never gains the master user's rights, nor the other way round)
    cloud, database, order_id = shop
    transaction_id = cloud.client.begin_transaction(
        resourceArn=CLUSTER_ARN, secretArn=READER_SECRET_ARN, database=database
    )["transactionId"]
    with pytest.raises(ClientError) as caught:
        cloud.client.execute_statement(
            resourceArn=CLUSTER_ARN,
            secretArn=SECRET_ARN,
            database=database,
            sql=WRITES["orders"],
            parameters=[{"name": "id", "value": {"stringValue": order_id}}],
            transactionId=transaction_id,
        )
    assert caught.value.response["Error"]["Code"] == "TransactionNotFoundException"
    cloud.client.rollback_transaction(
        resourceArn=CLUSTER_ARN, secretArn=READER_SECRET_ARN, transactionId=transaction_id
    )


def test_the_reader_can_neither_change_the_schema_nor_see_the_migrations(shop: tuple[OrdersCloud, str, str]) -> None:
    cloud, database, order_id = shop
    assert "permission denied for table schema_migrations" in refused(
        lambda: as_reader(cloud, database, "SELECT version FROM schema_migrations", order_id)
    )
    assert "permission denied for schema public" in refused(
        lambda: as_reader(cloud, database, "CREATE TABLE stolen (id int)", order_id)
    )
    assert "must be owner of table orders" in refused(
        lambda: as_reader(cloud, database, "ALTER TABLE orders DROP CONSTRAINT orders_status_check", order_id)
    )
    # And it cannot become the master user again inside its session
    assert "permission denied to set" in refused(
        lambda: as_reader(cloud, database, "SET SESSION AUTHORIZATION postgres", order_id)
    )


def test_the_password_is_the_secrets_and_follows_it(shop: tuple[OrdersCloud, str, str]) -> None:
    cloud, database, _ = shop

    def logs_in(password: str) -> bool:
        conninfo = psycopg.conninfo.make_conninfo(cloud.conninfo(database), user=READER_ROLE, password=password)
        try:
            psycopg.connect(conninfo).close()
        except psycopg.OperationalError as error:
            refusal = str(error)
        else:
            return True
        assert "password authentication failed" in refusal
        return False

    # Given the secret's password set by the migration step, Then PostgreSQL accepts it and nothing else
    assert logs_in(READER_PASSWORD)
    assert not logs_in(READER_PASSWORD + "x")
    # When the secret is rotated and the step runs again, Then the new password logs in and the old one no longer
    rotated = json.dumps({"username": READER_ROLE, "password": "Rotated0123456789abcdefghijklmno"})
    try:
        set_reader_password(cloud.data_api(database), rotated)
        assert logs_in("Rotated0123456789abcdefghijklmno")
        assert not logs_in(READER_PASSWORD)
    finally:
        set_reader_password(cloud.data_api(database), READER_SECRET_STRING)  # the role is the server's, shared
    assert logs_in(READER_PASSWORD)


@pytest.mark.parametrize(
    "secret",
    [
        "not json",
        json.dumps(["commerce_reader"]),
        json.dumps({"username": "orders_admin", "password": "x"}),  # never another role's password
        json.dumps({"username": READER_ROLE}),
        json.dumps({"username": READER_ROLE, "password": ""}),
    ],
)
def test_a_malformed_reader_secret_is_refused_before_any_statement(secret: str) -> None:
    with pytest.raises(ReaderSecretInvalid):
        set_reader_password(None, secret)  # type: ignore[arg-type]  # never reaches the database
