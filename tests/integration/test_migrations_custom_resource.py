"""The migration function as CloudFormation runs it: a custom-resource event in, migrations applied through the
Data API, and the answer PUT to the response URL (here a local HTTP server standing in for S3's presigned URL).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws
from werkzeug.wrappers import Request, Response

from commerce.adapters.orders_db.client import rds_data_client
from commerce.adapters.orders_db.reader import READER_ROLE, set_reader_password
from commerce.adapters.secrets import secretsmanager_client
from commerce.settings import load_settings
from localcloud.server import BackgroundServer
from tests.support.handlers import load_handler
from tests.support.lambda_events import FakeLambdaContext, load_event
from tests.support.orders_db import (
    CLUSTER_ARN,
    MIGRATIONS,
    READER_PASSWORD,
    READER_SECRET_STRING,
    SECRET_ARN,
    OrdersCloud,
    orders_cloud,
)

pytestmark = pytest.mark.integration


class ResponseBucket:
    """Records the PUTs a presigned S3 URL would receive."""

    def __init__(self) -> None:
        self.answers: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.answers.append(
            {
                "method": request.method,
                "path": request.path,
                "content_type": request.headers.get("Content-Type"),
                "body": json.loads(request.get_data()),
            }
        )
        return Response("", status=200)(environ, start_response)


@pytest.fixture
def bucket() -> Iterator[tuple[ResponseBucket, str]]:
    recorder = ResponseBucket()
    with BackgroundServer(recorder, name="cfn-response") as server:
        yield recorder, server.url


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[OrdersCloud, str]]:
    cloud = orders_cloud()
    database = cloud.new_database("deploy")
    with mock_aws():
        # The reader's secret (OrdersDbReaderSecret), in (moto) Secrets Manager
        reader_secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="OrdersDbReaderSecret", SecretString=READER_SECRET_STRING
        )["ARN"]
        for name, value in {
            "AWS_REGION": "us-east-1",
            "ORDERS_DB_CLUSTER_ARN": CLUSTER_ARN,
            "ORDERS_DB_SECRET_ARN": SECRET_ARN,
            "ORDERS_DB_NAME": database,
            "ORDERS_DB_READER_SECRET_ARN": reader_secret,
            "AWS_ENDPOINT_URL_RDS_DATA": cloud.url,
        }.items():
            monkeypatch.setenv(name, value)
        load_settings.cache_clear()
        rds_data_client.cache_clear()
        secretsmanager_client.cache_clear()
        yield cloud, database
        secretsmanager_client.cache_clear()
    load_settings.cache_clear()


class MigrationContext(FakeLambdaContext):
    """The migration function's invocation: Timeout 300 in template.yaml."""

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


def cfn_event(request_type: str, response_url: str, **extra: Any) -> dict[str, Any]:
    event = load_event("migrate_orders_db")
    event.update({"RequestType": request_type, "ResponseURL": f"{response_url}/presigned?X-Amz-Signature=abc"}, **extra)
    return event


def tables(cloud: OrdersCloud, database: str) -> set[str]:
    with cloud.sql(database) as sql:
        return {r[0] for r in sql.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()}


def test_create_applies_the_migrations_and_answers_success(
    configured: tuple[OrdersCloud, str], bucket: tuple[ResponseBucket, str]
) -> None:
    # Given a stack creating the OrdersDbSchema resource on an empty database
    cloud, database = configured
    recorder, url = bucket
    handler = load_handler("migrate_orders_db", fresh=True)
    # When CloudFormation invokes the function
    handler(cfn_event("Create", url), MigrationContext())
    # Then the schema exists and CloudFormation got one SUCCESS, PUT with an empty Content-Type (S3 signs it)
    assert {"orders", "order_lines", "order_events", "schema_migrations"} <= tables(cloud, database)
    [answer] = recorder.answers
    assert (answer["method"], answer["path"], answer["content_type"]) == ("PUT", "/presigned", "")
    assert answer["body"]["Status"] == "SUCCESS", answer["body"]
    shipped = sorted(path.name.split("_", 1)[0] for path in MIGRATIONS.glob("*.sql"))
    assert answer["body"]["Data"]["Applied"] == ",".join(shipped)
    assert answer["body"]["LogicalResourceId"] == "OrdersDbSchema"
    assert answer["body"]["Data"]["Reader"] == READER_ROLE
    # When a later deploy updates the resource, Then nothing is applied twice and the resource keeps its id
    handler(cfn_event("Update", url, PhysicalResourceId=answer["body"]["PhysicalResourceId"]), MigrationContext())
    assert recorder.answers[1]["body"]["Status"] == "SUCCESS"
    assert recorder.answers[1]["body"]["Data"]["Applied"] == "none"
    assert recorder.answers[1]["body"]["PhysicalResourceId"] == answer["body"]["PhysicalResourceId"]


def test_delete_leaves_the_database_alone(
    configured: tuple[OrdersCloud, str], bucket: tuple[ResponseBucket, str]
) -> None:
    cloud, database = configured
    recorder, url = bucket
    load_handler("migrate_orders_db", fresh=True)(
        cfn_event("Delete", url, PhysicalResourceId="orders-db-schema"), MigrationContext()
    )
    assert [a["body"]["Status"] for a in recorder.answers] == ["SUCCESS"]
    assert tables(cloud, database) == set()


def test_a_misconfigured_function_still_answers_failed(
    configured: tuple[OrdersCloud, str], bucket: tuple[ResponseBucket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a function whose database name variable is broken
    monkeypatch.setenv("ORDERS_DB_NAME", "not a database name!")
    load_settings.cache_clear()
    recorder, url = bucket
    # When CloudFormation invokes it, Then the stack hears FAILED with the reason instead of waiting an hour
    load_handler("migrate_orders_db", fresh=True)(cfn_event("Create", url), MigrationContext())
    [answer] = recorder.answers
    assert answer["body"]["Status"] == "FAILED"
    assert "ORDERS_DB_NAME" in answer["body"]["Reason"]


def test_a_database_that_refuses_answers_failed(
    configured: tuple[OrdersCloud, str], bucket: tuple[ResponseBucket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a database that does not exist
    monkeypatch.setenv("ORDERS_DB_NAME", "no_such_database")
    load_settings.cache_clear()
    recorder, url = bucket
    load_handler("migrate_orders_db", fresh=True)(cfn_event("Create", url), MigrationContext())
    [answer] = recorder.answers
    assert answer["body"]["Status"] == "FAILED"
    assert "no_such_database" in answer["body"]["Reason"]


def reader_logs_in(cloud: OrdersCloud, database: str, password: str) -> bool:
    conninfo = psycopg.conninfo.make_conninfo(cloud.conninfo(database), user=READER_ROLE, password=password)
    try:
        psycopg.connect(conninfo).close()
    except psycopg.OperationalError:
        return False
    return True


def test_every_run_sets_the_reader_password_from_its_secret(
    configured: tuple[OrdersCloud, str], bucket: tuple[ResponseBucket, str]
) -> None:
    # Given a migrated database whose reader role's password is no longer its secret's (rotated, say)
    cloud, database = configured
    recorder, url = bucket
    handler = load_handler("migrate_orders_db", fresh=True)
    handler(cfn_event("Create", url), MigrationContext())
    stale = json.dumps({"username": READER_ROLE, "password": "Stale0123456789abcdefghijklmnopq"})
    set_reader_password(cloud.data_api(database), stale)
    assert not reader_logs_in(cloud, database, READER_PASSWORD)
    # When a deploy updates the resource (nothing left to migrate), Then the role's password is the secret's again
    handler(cfn_event("Update", url, PhysicalResourceId="orders-db-schema"), MigrationContext())
    assert [a["body"]["Status"] for a in recorder.answers] == ["SUCCESS", "SUCCESS"]
    assert recorder.answers[1]["body"]["Data"]["Applied"] == "none"
    assert reader_logs_in(cloud, database, READER_PASSWORD)


def test_a_missing_reader_secret_answers_failed(
    configured: tuple[OrdersCloud, str], bucket: tuple[ResponseBucket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERS_DB_READER_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-x")
    load_settings.cache_clear()
    recorder, url = bucket
    load_handler("migrate_orders_db", fresh=True)(cfn_event("Create", url), MigrationContext())
    [answer] = recorder.answers
    assert answer["body"]["Status"] == "FAILED"
    assert "ResourceNotFoundException" in answer["body"]["Reason"] or "can't find" in answer["body"]["Reason"]
