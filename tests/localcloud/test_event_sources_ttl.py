"""TTL expiry: the local cloud deletes expired items as DynamoDB does, in bounded rounds."""

from __future__ import annotations

import time
from typing import Any

import pytest

from localcloud.event_sources import EventSources
from localcloud.event_sources.ttl import TtlSweeper
from tests.support.event_sources import (
    RecordingInvoke,
    client,
    local_app,
    unique,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.localcloud

SIX_YEARS = 6 * 365 * 86400


def make_table(dynamodb: Any, *, ttl_attribute: str | None) -> str:
    name = unique("sessions")
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    if ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute}
        )
    return name


def put(dynamodb: Any, table: str, key: str, **attributes: dict[str, str]) -> None:
    dynamodb.put_item(TableName=table, Item={"PK": {"S": key}, "SK": {"S": "META"}, **attributes})


def keys(dynamodb: Any, table: str) -> set[str]:
    return {item["PK"]["S"] for item in dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]}


def test_expired_items_disappear_and_everything_else_stays(edge_url: str) -> None:
    # Given a table with TTL on expiresAt holding expired, live, ancient, untyped and TTL-less items,
    # and a table without TTL holding an item whose expiresAt has passed
    dynamodb = client(edge_url, "dynamodb")
    table = make_table(dynamodb, ttl_attribute="expiresAt")
    plain = make_table(dynamodb, ttl_attribute=None)
    now = int(time.time())
    put(dynamodb, table, "expired", expiresAt={"N": str(now - 60)})
    put(dynamodb, table, "live", expiresAt={"N": str(now + 3600)})
    put(dynamodb, table, "ancient", expiresAt={"N": str(now - SIX_YEARS)})  # DynamoDB ignores > 5 years ago
    put(dynamodb, table, "string-typed", expiresAt={"S": str(now - 60)})  # only Numbers count
    put(dynamodb, table, "no-ttl")
    put(dynamodb, plain, "expired-but-no-ttl", expiresAt={"N": str(now - 60)})

    # When the event sources run with a time scale that makes the sweep frequent
    with EventSources(local_app(), edge_url=edge_url, invoke=RecordingInvoke(), time_scale=600):
        wait_until(lambda: "expired" not in keys(dynamodb, table), what="the expired item to be deleted")

    # Then only the expired item is gone (the round that deleted it saw every item of both tables)
    assert keys(dynamodb, table) == {"live", "ancient", "string-typed", "no-ttl"}
    assert keys(dynamodb, plain) == {"expired-but-no-ttl"}


def test_each_round_deletes_a_bounded_number_of_items_per_table(edge_url: str) -> None:
    # Given five expired items and a sweeper allowed two deletions per table per round
    dynamodb = client(edge_url, "dynamodb")
    table = make_table(dynamodb, ttl_attribute="expiresAt")
    past = str(int(time.time()) - 60)
    for n in range(5):
        put(dynamodb, table, f"expired-{n}", expiresAt={"N": past})
    sweeper = TtlSweeper(dynamodb, max_deleted_per_table=2)

    # When it sweeps three rounds / Then the table shrinks by at most two per round until empty
    remaining = []
    for _ in range(3):
        sweeper.sweep()
        remaining.append(len(keys(dynamodb, table)))
    assert remaining == [3, 1, 0]


def test_an_item_extended_after_it_was_read_is_not_deleted(edge_url: str) -> None:
    # Given an expired item whose TTL is extended between the sweeper's scan and its delete
    dynamodb = client(edge_url, "dynamodb")
    table = make_table(dynamodb, ttl_attribute="expiresAt")
    put(dynamodb, table, "session", expiresAt={"N": str(int(time.time()) - 60)})
    extended = str(int(time.time()) + 3600)

    class ExtendingClient:
        """Passes every call through, but extends the session right after the scan that found it."""

        def __getattr__(self, name: str) -> Any:
            return getattr(dynamodb, name)

        def scan(self, **request: Any) -> Any:
            page = dynamodb.scan(**request)
            put(dynamodb, table, "session", expiresAt={"N": extended})
            return page

    # When a round runs
    TtlSweeper(ExtendingClient()).sweep()

    # Then the session survives with its new expiry
    item = dynamodb.get_item(TableName=table, Key={"PK": {"S": "session"}, "SK": {"S": "META"}})["Item"]
    assert item["expiresAt"] == {"N": extended}
