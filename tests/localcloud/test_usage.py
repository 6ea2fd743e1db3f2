"""The edge counts AWS API calls per service and operation, for the cost benchmark."""

from __future__ import annotations

import boto3
import pytest
import requests

from localcloud.edge import EdgeApp
from localcloud.server import BackgroundServer
from localcloud.usage import USAGE_PATH, Usage

pytestmark = pytest.mark.localcloud


def test_calls_are_counted_by_operation_and_reset_on_delete() -> None:
    # Given an edge that counts
    usage = Usage()
    edge = EdgeApp(usage)
    edge.intercept(Usage.matches, usage)
    with BackgroundServer(edge, name="usage-test") as server:
        client = boto3.client("dynamodb", endpoint_url=server.url, region_name="us-east-1")
        # When a table is created and listed twice
        client.create_table(
            TableName="t",
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.list_tables()
        client.list_tables()
        # Then the counts say so, per operation
        counted = requests.get(server.url + USAGE_PATH, timeout=5).json()["calls"]
        assert counted == {"dynamodb:CreateTable": 1, "dynamodb:ListTables": 2}
        # And request units follow the items a call touches: a batch read of 3 keys is 3 read units
        client.put_item(TableName="t", Item={"PK": {"S": "a"}})
        client.batch_get_item(RequestItems={"t": {"Keys": [{"PK": {"S": k}} for k in "abc"]}})
        units = requests.get(server.url + USAGE_PATH, timeout=5).json()["dynamodbRequestUnits"]
        assert units == {"write": 1, "read": 3}
        # And a DELETE starts counting again
        requests.delete(server.url + USAGE_PATH, timeout=5)
        assert requests.get(server.url + USAGE_PATH, timeout=5).json() == {
            "calls": {},
            "dynamodbRequestUnits": {},
            "invocations": {},
        }


def test_invocations_add_up_duration_per_function() -> None:
    usage = Usage()
    usage.record_invocation("Fn", 512, 10.0)
    usage.record_invocation("Fn", 512, 5.5)
    assert usage.snapshot()["invocations"] == {"Fn": {"count": 2, "durationMs": 15.5, "memoryMb": 512}}
