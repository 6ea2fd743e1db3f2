"""DynamoDB's per-partition write limit on the edge: what is counted, and what a throttled write answers.

The limiter's clock is stopped in these tests, so each partition key has exactly `writesPerSecond` units.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.dynamodb.partition_limit import CONTROL_PATH, SETTING, PartitionLimit
from localcloud.edge import EdgeApp
from localcloud.server import BackgroundServer

pytestmark = pytest.mark.localcloud


@pytest.fixture(scope="module")
def edge() -> Iterator[tuple[EdgeApp, str]]:
    app = EdgeApp()
    with BackgroundServer(app, name="partition-limit-edge") as server:
        yield app, server.url


@pytest.fixture
def table(edge: tuple[EdgeApp, str]) -> Iterator[tuple[Any, str, PartitionLimit]]:
    app, url = edge
    # No SDK retries: the test sees each answer the edge gives.
    client = boto3.client(
        "dynamodb", endpoint_url=url, region_name="eu-west-1", config=Config(retries={"total_max_attempts": 1})
    )
    name = f"limit-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    limit = app.partition_limit
    limit.reset()
    limit.clock = lambda: 0.0
    limit.writes_per_second = 4
    yield client, name, limit
    limit.writes_per_second = None
    limit.reset()


def put(client: Any, table: str, pk: str, sk: str) -> None:
    client.put_item(TableName=table, Item={"id": {"S": pk}, "sk": {"S": sk}})


def test_a_hot_partition_key_is_throttled_as_dynamodb_does(table: tuple[Any, str, PartitionLimit]) -> None:
    client, name, limit = table
    # Given 4 write units per partition key, When 4 writes go to one key (with different sort keys)
    for n in range(4):
        put(client, name, "hot", f"s{n}")
    # Then the 5th is DynamoDB's throttling error for a hot key range, and nothing was written
    with pytest.raises(ClientError) as raised:
        put(client, name, "hot", "s4")
    error: dict[str, Any] = dict(raised.value.response)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert error["ThrottlingReasons"] == [
        {
            "reason": "TableWriteKeyRangeThroughputExceeded",
            "resource": f"arn:aws:dynamodb:eu-west-1:123456789012:table/{name}",
        }
    ]
    assert "Item" not in client.get_item(TableName=name, Key={"id": {"S": "hot"}, "sk": {"S": "s4"}})
    # And another key, and reads of the hot one, are not limited
    put(client, name, "cold", "s0")
    assert client.get_item(TableName=name, Key={"id": {"S": "hot"}, "sk": {"S": "s0"}})["Item"]
    assert limit.throttled() == {"requests": 1, "byOperation": {"PutItem": 1}}


def test_a_throttled_transaction_is_cancelled_with_a_throttling_reason(table: tuple[Any, str, PartitionLimit]) -> None:
    client, name, _ = table
    # Given the hot key has 1 unit left (a transaction item costs 2)
    for n in range(3):
        put(client, name, "hot", f"s{n}")
    # When a transaction writes one cold item and one hot one
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {"id": {"S": "cold"}, "sk": {"S": "t"}}}},
                {
                    "Update": {
                        "TableName": name,
                        "Key": {"id": {"S": "hot"}, "sk": {"S": "s0"}},
                        "UpdateExpression": "SET n = :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )
    # Then it is cancelled, the hot item's reason is ThrottlingError, and neither item was written
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in raised.value.response["CancellationReasons"]] == ["None", "ThrottlingError"]
    assert "Item" not in client.get_item(TableName=name, Key={"id": {"S": "cold"}, "sk": {"S": "t"}})
    # And the cold key's units were not spent by the refused transaction
    for n in range(4):
        put(client, name, "cold", f"c{n}")


def test_batch_writes_count_per_item(table: tuple[Any, str, PartitionLimit]) -> None:
    client, name, _ = table
    # Given 4 units, When a batch writes 5 items under one key, Then it is throttled whole
    requests_ = [{"PutRequest": {"Item": {"id": {"S": "hot"}, "sk": {"S": f"b{n}"}}}} for n in range(5)]
    with pytest.raises(ClientError) as raised:
        client.batch_write_item(RequestItems={name: requests_})
    assert raised.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    # And 4 fit
    client.batch_write_item(RequestItems={name: requests_[:4]})


def test_the_limit_is_read_from_the_environment_and_changed_at_run_time(
    edge: tuple[EdgeApp, str], table: tuple[Any, str, PartitionLimit]
) -> None:
    _, url = edge
    # Given the setting, Then it is the limit (unset: none; nonsense refused)
    assert PartitionLimit.from_environ({SETTING: "250"}).writes_per_second == 250
    assert PartitionLimit.from_environ({}).writes_per_second is None
    with pytest.raises(ValueError, match=SETTING):
        PartitionLimit.from_environ({SETTING: "0"})
    # When changed over HTTP, Then the edge says so; DELETE resets the counts
    assert requests.put(url + CONTROL_PATH, json={"writesPerSecond": 10}, timeout=10).json()["writesPerSecond"] == 10
    assert requests.put(url + CONTROL_PATH, json={"writesPerSecond": -1}, timeout=10).status_code == 400
    answer = requests.delete(url + CONTROL_PATH, timeout=10).json()
    assert answer == {"writesPerSecond": 10, "throttled": {"requests": 0, "byOperation": {}}}
    assert (
        requests.put(url + CONTROL_PATH, json={"writesPerSecond": None}, timeout=10).json()["writesPerSecond"] is None
    )
