"""Conditional writes through the edge stay atomic when 50 writers race for the same item."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.edge import EdgeApp
from localcloud.server import BackgroundServer

pytestmark = pytest.mark.localcloud


def test_fifty_conditional_decrements_never_go_below_zero() -> None:
    # Given a counter at 10 behind the edge
    with BackgroundServer(EdgeApp(), name="edge-test") as edge:
        client = boto3.client(
            "dynamodb", endpoint_url=edge.url, region_name="us-east-1", config=Config(max_pool_connections=60)
        )
        client.create_table(
            TableName="counters",
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.put_item(TableName="counters", Item={"PK": {"S": "sku"}, "available": {"N": "10"}})

        def take_one(_: int) -> str:
            try:
                client.update_item(
                    TableName="counters",
                    Key={"PK": {"S": "sku"}},
                    UpdateExpression="SET available = available - :one",
                    ConditionExpression="available >= :one",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )
                return "taken"
            except ClientError as error:
                return str(error.response["Error"]["Code"])

        # When 50 threads each try to take one unit
        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(take_one, range(50)))

        # Then exactly 10 succeed, the other 40 fail their condition, and the counter ends at 0
        assert results.count("taken") == 10
        assert results.count("ConditionalCheckFailedException") == 40
        item = client.get_item(TableName="counters", Key={"PK": {"S": "sku"}}, ConsistentRead=True)["Item"]
        assert item["available"] == {"N": "0"}
