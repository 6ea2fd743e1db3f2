"""Queries and scans from candidates (localcloud.dynamodb.queries) answer exactly what moto's own answer: the
same items in the same order, the same pages, counts and LastEvaluatedKey, with key conditions, filters,
projections and either direction, on the table, on a sparse index and on an index keyed by a number; scans as
items come and go, by segment, on a table keyed by a number, and after a transaction moto rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.dynamodb import queries
from localcloud.dynamodb.queries import accelerate_queries, moto_own_reads

TABLE = "queries"


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
    client: Any, request_: dict[str, Any], limit: int | None
) -> None:
    # Given moto's own Query, When the same query is asked page by page
    expected, accelerated = both_ways(lambda: pages(client, request_, limit))
    # Then the accelerated Query answers every page exactly so
    assert accelerated == expected
    assert any(page["Items"] for page in expected) or "P#9" in str(request_) or "G#7" in str(request_)


def test_a_scan_still_sees_every_item_and_a_query_leaves_no_candidates_behind(client: Any) -> None:
    accelerate_queries()
    client.query(TableName=TABLE, KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "P#0"}})
    assert getattr(queries._candidates, "items", None) is None
    assert client.scan(TableName=TABLE)["Count"] == 72


def scan_pages(client: Any, table: str, limit: int, **request: Any) -> list[dict[str, Any]]:
    answers, start = [], None
    while True:
        call = {"TableName": table, "Limit": limit, **request}
        if start is not None:
            call["ExclusiveStartKey"] = start
        answer = client.scan(**call)
        answers.append({key: answer.get(key) for key in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")})
        start = answer.get("LastEvaluatedKey")
        if start is None:
            return answers


def both_ways(read: Any) -> tuple[Any, Any]:
    """`read()` answered by moto's own reads, then by the accelerated table."""
    with moto_own_reads():
        expected = read()
    return expected, read()


@pytest.mark.parametrize(
    "request_",
    [
        {},
        {"FilterExpression": "n > :n", "ExpressionAttributeValues": {":n": {"N": "1"}}},
        {"Segment": 1, "TotalSegments": 3},
    ],
)
def test_scan_pages_are_moto_s_even_as_items_come_and_go(client: Any, request_: dict[str, Any]) -> None:
    # Given the key order built by a first accelerated scan, then items added, replaced and deleted
    accelerate_queries()
    client.scan(TableName=TABLE, Limit=5)
    client.put_item(TableName=TABLE, Item={"PK": {"S": "P#0"}, "SK": {"S": "S#05a"}, "n": {"N": "9"}})
    client.put_item(TableName=TABLE, Item={"PK": {"S": "P#3"}, "SK": {"S": "S#01"}, "n": {"N": "4"}})  # replaced
    client.delete_item(TableName=TABLE, Key={"PK": {"S": "P#4"}, "SK": {"S": "S#07"}})
    client.delete_item(TableName=TABLE, Key={"PK": {"S": "P#9"}, "SK": {"S": "S#00"}})  # nothing there
    # When the table is scanned page by page, Then every page is moto's
    expected, accelerated = both_ways(lambda: scan_pages(client, TABLE, 7, **request_))
    assert accelerated == expected
    if not request_:
        assert sum(page["Count"] for page in expected) == 72  # 72 seeded, one added, one deleted


def test_numbers_sort_as_numbers_and_a_failed_transaction_changes_no_order(client: Any) -> None:
    # Given a table keyed by a number, scanned once (its key order built)
    client.create_table(
        TableName="ranked",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    for n in (10, 9, 100, 2, 33):
        client.put_item(TableName="ranked", Item={"id": {"N": str(n)}})
    accelerate_queries()
    client.scan(TableName="ranked", Limit=2)
    # When a transaction puts one item, then fails its condition on another (moto rolls the tables back)
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "ranked", "Item": {"id": {"N": "7"}}}},
                {
                    "Put": {
                        "TableName": "ranked",
                        "Item": {"id": {"N": "2"}},
                        "ConditionExpression": "attribute_not_exists(id)",
                    }
                },
            ]
        )
    # Then scans page through the numbers in moto's order, without the rolled-back item
    expected, accelerated = both_ways(lambda: scan_pages(client, "ranked", 2))
    assert accelerated == expected
    assert [item["id"]["N"] for page in accelerated for item in page["Items"]] == ["2", "9", "10", "33", "100"]
