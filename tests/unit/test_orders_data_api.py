"""The Data API adapter's pieces, without a database: parameters, results, error translation, resume retries.

boto3's real `rds-data` client is used with botocore's Stubber, so requests are validated against the
service model (parameter shapes, type hints) exactly as a real call would be.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from commerce.adapters.orders_db.data_api import DataApi
from commerce.adapters.orders_db.errors import StatementFailed, is_resuming, translate
from commerce.adapters.orders_db.parameters import Json, Uuid, sql_parameter, timestamp_text
from commerce.adapters.orders_db.results import field_value, rows_of
from commerce.adapters.orders_db.retry import ResumeBackoff, RetryBudget
from commerce.domain.errors import ErrorCode
from commerce.domain.orders.errors import OrdersDatabaseError, OrdersDatabaseResuming

CLUSTER = "arn:aws:rds:us-east-1:123456789012:cluster:orders"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-AbCdEf"
TARGET = {"resourceArn": CLUSTER, "secretArn": SECRET}


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("rds-data", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def budget_of(seconds: float, time: FakeTime) -> RetryBudget:
    return RetryBudget(seconds, clock=time.clock, sleep=time.sleep, draw=lambda: 0.5)


def resuming(stubber: Stubber, operation: str = "execute_statement", code: str = "DatabaseResumingException") -> None:
    stubber.add_client_error(operation, service_error_code=code, service_message="resuming", http_status_code=400)


# ---------------------------------------------------------------------------------------------- parameters


def test_parameters_carry_the_type_hints_postgres_needs() -> None:
    order_id = str(uuid.uuid4())
    moment = datetime(2026, 3, 1, 13, 0, 0, 123000, tzinfo=timezone(timedelta(hours=1)))
    assert sql_parameter("a", "text") == {"name": "a", "value": {"stringValue": "text"}}
    assert sql_parameter("a", 2**40) == {"name": "a", "value": {"longValue": 2**40}}
    assert sql_parameter("a", True) == {"name": "a", "value": {"booleanValue": True}}
    assert sql_parameter("a", None) == {"name": "a", "value": {"isNull": True}}
    assert sql_parameter("a", Uuid(order_id.upper())) == {
        "name": "a", "value": {"stringValue": order_id}, "typeHint": "UUID"
    }  # fmt: skip
    assert sql_parameter("a", Json({"b": [1, "é"]})) == {
        "name": "a", "value": {"stringValue": '{"b":[1,"é"]}'}, "typeHint": "JSON"
    }  # fmt: skip
    # Timestamps go in UTC, in the documented YYYY-MM-DD HH:MM:SS.FFF
    assert sql_parameter("a", moment) == {
        "name": "a", "value": {"stringValue": "2026-03-01 12:00:00.123"}, "typeHint": "TIMESTAMP"
    }  # fmt: skip


@pytest.mark.parametrize(
    "moment", [datetime(2026, 3, 1, 12, 0), datetime(2026, 3, 1, 12, 0, 0, 1, tzinfo=UTC)], ids=["naive", "micro"]
)
def test_timestamps_that_cannot_be_sent_exactly_are_refused(moment: datetime) -> None:
    with pytest.raises(ValueError, match=r"timezone|millisecond"):
        timestamp_text(moment)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01 00:00:00.000"),
        (datetime(999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC), "0999-12-31 23:59:59.999"),
        (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC), "9999-12-31 23:59:59.999"),
        (datetime(2, 1, 1, 1, tzinfo=timezone(timedelta(hours=2))), "0001-12-31 23:00:00.000"),
    ],
)
def test_timestamps_always_have_a_four_digit_year(moment: datetime, text: str) -> None:
    # Regression: strftime's %Y gave "1-01-01 ..." on Linux, which the Data API refuses (a 500 for the caller).
    assert timestamp_text(moment) == text


def test_unknown_parameter_types_are_refused() -> None:
    with pytest.raises(TypeError):
        sql_parameter("a", 1.5)


# ---------------------------------------------------------------------------------------------- results


def test_results_become_rows_of_plain_values() -> None:
    response = {
        "columnMetadata": [{"name": "id", "label": "id"}, {"name": "n"}, {"label": "ok"}, {"label": "tags"}],
        "records": [
            [{"stringValue": "a"}, {"longValue": 3}, {"booleanValue": True}, {"arrayValue": {"stringValues": ["x"]}}],
            [{"stringValue": "b"}, {"isNull": True}, {"booleanValue": False}, {"arrayValue": {"longValues": [1]}}],
        ],
    }
    assert rows_of(response) == [
        {"id": "a", "n": 3, "ok": True, "tags": ["x"]},
        {"id": "b", "n": None, "ok": False, "tags": [1]},
    ]
    assert field_value({"blobValue": b"\x00\x01"}) == b"\x00\x01"
    with pytest.raises(ValueError, match="match"):
        rows_of({"columnMetadata": [{"name": "a"}], "records": [[]]})


# ---------------------------------------------------------------------------------------------- errors


def client_error(code: str, message: str) -> Any:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": message}}, "ExecuteStatement")


@pytest.mark.parametrize(
    ("code", "message", "resuming"),
    [
        ("DatabaseResumingException", "The Aurora DB instance is resuming after being auto-paused.", True),
        ("DatabaseUnavailableException", "The writer instance is not available", True),
        ("BadRequestException", "Communications link failure\n\nThe last packet sent successfully ...", True),
        ("BadRequestException", "Database orders is resuming after being auto-paused. Please wait", True),
        ("BadRequestException", 'ERROR: relation "x" does not exist; SQLState: 42P01', False),
        ("ForbiddenException", "not allowed", False),
    ],
)
def test_what_counts_as_resuming(code: str, message: str, resuming: bool) -> None:
    assert is_resuming(client_error(code, message)) is resuming


def test_statement_errors_keep_their_sqlstate() -> None:
    error = translate(
        client_error(
            "BadRequestException",
            'ERROR: duplicate key value violates unique constraint "orders_pkey"\n  Detail: x; SQLState: 23505',
        )
    )
    assert isinstance(error, StatementFailed)
    assert error.sqlstate == "23505"
    assert error.code is ErrorCode.INTERNAL
    other = translate(client_error("AccessDeniedException", "no"))
    assert type(other) is OrdersDatabaseError


# ---------------------------------------------------------------------------------------------- resume retries


def test_backoff_grows_and_is_capped() -> None:
    backoff = ResumeBackoff(first_delay=0.5, max_delay=5.0)
    assert [backoff.delay(n, 0.0) for n in range(6)] == [0.25, 0.5, 1.0, 2.0, 2.5, 2.5]
    assert [backoff.delay(n, 0.999999) for n in range(2)] == pytest.approx([0.5, 1.0])


def test_a_resuming_cluster_is_retried_until_it_answers(stubbed: tuple[Any, Stubber]) -> None:
    # Given a cluster that answers DatabaseResumingException twice, then the statement's result
    client, stubber = stubbed
    time = FakeTime()
    resuming(stubber)
    resuming(stubber, code="DatabaseUnavailableException")
    stubber.add_response(
        "execute_statement",
        {"columnMetadata": [{"name": "one"}], "records": [[{"longValue": 1}]]},
        {**TARGET, "database": "commerce", "sql": "SELECT 1 AS one", "parameters": [], "includeResultMetadata": True},
    )
    db = DataApi(client, CLUSTER, SECRET, "commerce", budget=lambda: budget_of(20, time))
    # When a statement runs, Then it gets the rows, after backing off between attempts
    assert db.execute("SELECT 1 AS one") == [{"one": 1}]
    assert time.sleeps == [0.375, 0.75]


def test_a_cluster_resuming_longer_than_the_budget_is_503_with_retry_after(stubbed: tuple[Any, Stubber]) -> None:
    # Given a cluster that keeps resuming and a request with 3 seconds left
    client, stubber = stubbed
    time = FakeTime()
    for _ in range(3):  # sleeps of 0.375 and 0.75 s fit; 1.5 s more would leave less than a call's second
        resuming(stubber)
    db = DataApi(client, CLUSTER, SECRET, "commerce", budget=lambda: budget_of(3, time))
    # When a statement runs, Then it gives up in time with 503 DATABASE_RESUMING and Retry-After
    with pytest.raises(OrdersDatabaseResuming) as gave_up:
        db.execute("SELECT 1")
    assert gave_up.value.code is ErrorCode.DATABASE_RESUMING
    assert gave_up.value.code.status == 503
    assert gave_up.value.headers == {"Retry-After": "10"}
    assert time.sleeps == [0.375, 0.75]


def test_other_errors_are_not_retried(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "execute_statement", "BadRequestException", "ERROR: syntax error; SQLState: 42601", http_status_code=400
    )
    db = DataApi(client, CLUSTER, SECRET, "commerce", budget=lambda: pytest.fail("no retry expected"))
    with pytest.raises(StatementFailed) as failed:
        db.execute("SELEKT 1")
    assert failed.value.sqlstate == "42601"


def test_a_transaction_commits_or_rolls_back(stubbed: tuple[Any, Stubber]) -> None:
    # Given a transaction whose BeginTransaction first meets a resuming cluster
    client, stubber = stubbed
    time = FakeTime()
    resuming(stubber, "begin_transaction")
    stubber.add_response("begin_transaction", {"transactionId": "tx-1"}, {**TARGET, "database": "commerce"})
    stubber.add_response("execute_statement", {"numberOfRecordsUpdated": 1})
    stubber.add_response("commit_transaction", {"transactionStatus": "Transaction Committed"},
                         {**TARGET, "transactionId": "tx-1"})  # fmt: skip
    stubber.add_response("begin_transaction", {"transactionId": "tx-2"})
    stubber.add_response("rollback_transaction", {"transactionStatus": "Rollback Complete"},
                         {**TARGET, "transactionId": "tx-2"})  # fmt: skip
    db = DataApi(client, CLUSTER, SECRET, "commerce", budget=lambda: budget_of(20, time))
    # When the first block succeeds, Then it commits
    with db.transaction() as tx:
        assert tx.execute_update("UPDATE t SET a = :a", {"a": 1}) == 1
    # And when the second raises, Then it rolls back and the error comes out
    with pytest.raises(RuntimeError, match="boom"), db.transaction():
        raise RuntimeError("boom")
