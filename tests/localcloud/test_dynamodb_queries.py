"""Queries from candidates (localcloud.dynamodb.queries) answer exactly what moto's own Query answers: the same
items in the same order, the same pages and LastEvaluatedKey, with key conditions, filters, projections and
either direction, on the table, on a sparse index and on an index keyed by a number."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from localcloud.dynamodb import queries
from localcloud.dynamodb.queries import accelerate_queries

TABLE = "queries"

MOTO_QUERY, MOTO_ALL_ITEMS = Table.query, Table.all_items  # before any test installs the acceleration


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
                {"AttributeName": "GSI1PK", "AttributeType": "S"},
                {"AttributeName": "GSI1SK", "AttributeType": "S"},
                {"AttributeName": "Rank", "AttributeType": "N"},
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
                },
                {
                    "IndexName": "ByRank",
                    "KeySchema": [{"AttributeName": "Rank", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                },
            ],
        )
        for p in range(6):
            for s in range(12):
                item: dict[str, Any] = {"PK": {"S": f"P#{p}"}, "SK": {"S": f"S#{s:02d}"}, "n": {"N": str(s % 5)}}
                if s % 3:  # a sparse index: a third of the items are not in it
                    item |= {"GSI1PK": {"S": f"G#{(p + s) % 4}"}, "GSI1SK": {"S": f"{s % 7}#{p}"}}
                if s % 4 == 0:
                    item["Rank"] = {"N": str(s // 4)}
                dynamodb.put_item(TableName=TABLE, Item=item)
        yield dynamodb


QUERIES: list[dict[str, Any]] = [
    {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "P#2"}}},
    {"KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "P#9"}}},
    {
        "KeyConditionExpression": "PK = :p AND begins_with(SK, :s)",
        "ExpressionAttributeValues": {":p": {"S": "P#3"}, ":s": {"S": "S#0"}},
        "ScanIndexForward": False,
    },
    {
        "KeyConditionExpression": "PK = :p",
        "FilterExpression": "n > :n",
        "ProjectionExpression": "SK, n",
        "ExpressionAttributeValues": {":p": {"S": "P#1"}, ":n": {"N": "2"}},
    },
    {"IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :g", "ExpressionAttributeValues": {":g": {"S": "G#1"}}},
    {
        "IndexName": "GSI1",
        "KeyConditionExpression": "GSI1PK = :g AND GSI1SK BETWEEN :a AND :b",
        "ExpressionAttributeValues": {":g": {"S": "G#2"}, ":a": {"S": "1"}, ":b": {"S": "5~"}},
        "ScanIndexForward": False,
    },
    {"IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :g", "ExpressionAttributeValues": {":g": {"S": "G#7"}}},
    {"IndexName": "ByRank", "KeyConditionExpression": "#r = :r", "ExpressionAttributeNames": {"#r": "Rank"},
     "ExpressionAttributeValues": {":r": {"N": "1.0"}}},
]  # fmt: skip


def pages(client: Any, request: dict[str, Any], limit: int | None) -> list[dict[str, Any]]:
    """Every page of the query, `limit` items at a time (None: one call), as answered."""
    answers, start = [], None
    while True:
        call = {"TableName": TABLE, **request, **({"Limit": limit} if limit else {})}
        if start is not None:
            call["ExclusiveStartKey"] = start
        answer = client.query(**call)
        answers.append({key: answer.get(key) for key in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")})
        start = answer.get("LastEvaluatedKey")
        if start is None or limit is None:
            return answers


@pytest.mark.parametrize("limit", [None, 4])
@pytest.mark.parametrize("request_", QUERIES)
def test_an_accelerated_query_answers_what_moto_answers(
    client: Any, request_: dict[str, Any], limit: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given moto's own Query, When the same query is asked page by page
    with monkeypatch.context() as moto_only:
        moto_only.setattr(Table, "query", MOTO_QUERY)
        moto_only.setattr(Table, "all_items", MOTO_ALL_ITEMS)
        expected = pages(client, request_, limit)
    # Then the accelerated Query answers every page exactly so
    accelerate_queries()
    assert pages(client, request_, limit) == expected
    assert any(page["Items"] for page in expected) or "P#9" in str(request_) or "G#7" in str(request_)


def test_a_scan_still_sees_every_item_and_a_query_leaves_no_candidates_behind(client: Any) -> None:
    accelerate_queries()
    client.query(TableName=TABLE, KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "P#0"}})
    assert getattr(queries._candidates, "items", None) is None
    assert client.scan(TableName=TABLE)["Count"] == 72
