"""GET and PUT /admin/inventory/{sku}, called with the events/ samples against a moto table from template.yaml."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.domain.inventory.models import ReservationLine
from commerce.domain.inventory.service import reserve_stock
from tests.support.handlers import load_handler
from tests.support.lambda_events import FakeLambdaContext, http_event, response_json

pytestmark = pytest.mark.integration

SKU = "TR2-BLK-42"  # the SKU of the events/ samples
CUSTOMER = {"sub": "c0ffee00-0000-4000-8000-000000000001", "cognito:groups": "[customers]"}


def call(function: str, event: dict[str, Any]) -> dict[str, Any]:
    return load_handler(function)(event, FakeLambdaContext())


def for_sku(event: dict[str, Any], sku: str) -> dict[str, Any]:
    event["pathParameters"] = {"sku": sku}
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/admin/inventory/{sku}"
    return event


def table_snapshot(table: str) -> list[str]:
    items: list[str] = []
    for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table):
        items += [json.dumps(item, sort_keys=True) for item in page["Items"]]
    return sorted(items)


def assert_problem(response: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    assert response["statusCode"] == status, response["body"]
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = response_json(response)
    assert problem["code"] == code
    return problem


@pytest.fixture
def sample_product(commerce_table: str) -> str:
    """The events/create_product.json product (SKUs TR2-BLK-42 and TR2-BLK-43), created through its function."""
    response = call("create_product", http_event("create_product"))
    assert response["statusCode"] == 201
    return commerce_table


def test_set_then_get_stock(sample_product: str) -> None:
    # Given the sample product (TR2-BLK-42 at 0)
    # When the sample PUT sets on hand to 25
    put = call("set_inventory", http_event("set_inventory"))
    # Then 200 with the counters, and the sample GET reads the same
    assert put["statusCode"] == 200, put["body"]
    assert response_json(put) == {
        "sku": SKU,
        "onHand": 25,
        "reserved": 0,
        "available": 25,
        "shards": 1,
        "purchaseLimit": None,
    }
    got = call("get_inventory", http_event("get_inventory"))
    assert got["statusCode"] == 200
    assert response_json(got) == {
        "sku": SKU,
        "onHand": 25,
        "reserved": 0,
        "available": 25,
        "shards": 1,
        "purchaseLimit": None,
    }
    assert got["headers"]["X-Request-Id"]


def test_on_hand_below_reserved_is_409_and_changes_nothing(sample_product: str) -> None:
    # Given 10 on hand of which a checkout reserved 4
    assert call("set_inventory", http_event("set_inventory", body={"onHand": 10}))["statusCode"] == 200
    expires = datetime.now(UTC) + timedelta(minutes=15)
    reserve_stock(DynamoDbStockLedger(sample_product), "chk-1", [ReservationLine(SKU, 4)], expires)
    before = table_snapshot(sample_product)
    # When an operator sets on hand to 3
    response = call("set_inventory", http_event("set_inventory", body={"onHand": 3}))
    # Then 409 BELOW_RESERVED and nothing changed; 4 is accepted
    problem = assert_problem(response, 409, "BELOW_RESERVED")
    assert problem["errors"][0]["field"] == "onHand"
    assert table_snapshot(sample_product) == before
    accepted = call("set_inventory", http_event("set_inventory", body={"onHand": 4}))
    assert response_json(accepted) == {
        "sku": SKU,
        "onHand": 4,
        "reserved": 4,
        "available": 0,
        "shards": 1,
        "purchaseLimit": None,
    }


@pytest.mark.parametrize("sku", ["NOPE-1", "lower-case", "X" * 300])
def test_unknown_skus_are_404_and_never_created(commerce_table: str, sku: str) -> None:
    # Given an empty table
    before = table_snapshot(commerce_table)
    # When reading or setting an unknown (or malformed) SKU
    got = call("get_inventory", for_sku(http_event("get_inventory"), sku))
    put = call("set_inventory", for_sku(http_event("set_inventory"), sku))
    # Then 404 SKU_NOT_FOUND and no item appears
    assert_problem(got, 404, "SKU_NOT_FOUND")
    assert_problem(put, 404, "SKU_NOT_FOUND")
    assert table_snapshot(commerce_table) == before


@pytest.mark.parametrize(
    ("raw", "status", "field"),
    [
        ('{"onHand": "5"}', 400, "onHand"),
        ('{"onHand": 5.0}', 400, "onHand"),
        ('{"onHand": true}', 400, "onHand"),
        ('{"onHand": -1}', 400, "onHand"),
        ('{"onHand": 100000001}', 400, "onHand"),
        ('{"onHand": 5, "reserved": 0}', 400, "reserved"),
        ('{"on_hand": 5}', 400, "onHand"),
        ("{}", 400, "onHand"),
        ("[5]", 400, None),
        ("not json", 400, None),
        ("", 400, None),
        (json.dumps({"onHand": 1, "pad": "x" * 70_000}), 413, None),
    ],
)
def test_bad_bodies_are_refused_and_change_nothing(
    sample_product: str, raw: str, status: int, field: str | None
) -> None:
    # Given the sample product
    before = table_snapshot(sample_product)
    # When the sample PUT carries a bad body
    response = call("set_inventory", http_event("set_inventory", raw_body=raw))
    # Then a 4xx problem naming the field, and the stock is unchanged
    problem = assert_problem(response, status, "PAYLOAD_TOO_LARGE" if status == 413 else "VALIDATION_ERROR")
    if field is not None:
        assert field in {e["field"] for e in problem["errors"]}
    assert table_snapshot(sample_product) == before


@pytest.mark.parametrize("function", ["get_inventory", "set_inventory"])
def test_inventory_requires_an_operator(sample_product: str, function: str) -> None:
    # Given the sample product
    before = table_snapshot(sample_product)
    # When a customer, then nobody, calls the endpoint
    customer = call(function, http_event(function, claims=CUSTOMER))
    nobody_event = http_event(function)
    nobody_event["requestContext"].pop("authorizer")
    nobody = call(function, nobody_event)
    # Then 403 and 401, and nothing changed
    assert_problem(customer, 403, "FORBIDDEN")
    assert_problem(nobody, 401, "UNAUTHENTICATED")
    assert table_snapshot(sample_product) == before


def test_shards_and_purchase_limit_are_set_and_kept_when_left_out(sample_product: str) -> None:
    # Given the sample product, When an operator spreads 40 units over 8 shards with a limit of 2 per buyer
    body = {"onHand": 40, "shards": 8, "purchaseLimit": 2}
    put = call("set_inventory", http_event("set_inventory", body=body))
    # Then the stock says so, summed over the shards
    assert put["statusCode"] == 200, put["body"]
    expected = {"sku": SKU, "onHand": 40, "reserved": 0, "available": 40, "shards": 8, "purchaseLimit": 2}
    assert response_json(put) == expected
    # And a PUT of on hand alone keeps shards and limit; a null limit removes it
    kept = call("set_inventory", http_event("set_inventory", body={"onHand": 30}))
    assert response_json(kept) == expected | {"onHand": 30, "available": 30}
    lifted = call("set_inventory", http_event("set_inventory", body={"onHand": 30, "purchaseLimit": None}))
    assert response_json(lifted)["purchaseLimit"] is None
    got = call("get_inventory", http_event("get_inventory"))
    assert response_json(got) == expected | {"onHand": 30, "available": 30, "purchaseLimit": None}


@pytest.mark.parametrize(
    "body",
    [
        {"onHand": 5, "shards": 0},
        {"onHand": 5, "shards": 65},
        {"onHand": 5, "shards": None},
        {"onHand": 5, "shards": "2"},
        {"onHand": 5, "purchaseLimit": 0},
        {"onHand": 5, "purchaseLimit": -1},
    ],
)
def test_bad_shards_or_purchase_limit_are_400_and_change_nothing(sample_product: str, body: dict[str, Any]) -> None:
    # Given the sample product, When the PUT has shards out of 1..64 or a limit below 1
    before = table_snapshot(sample_product)
    response = call("set_inventory", http_event("set_inventory", body=body))
    # Then 400 VALIDATION_ERROR and nothing changed
    assert_problem(response, 400, "VALIDATION_ERROR")
    assert table_snapshot(sample_product) == before


def test_resharding_below_reserved_is_409_and_changes_nothing(sample_product: str) -> None:
    # Given 10 units over 4 shards, 6 of them reserved
    call("set_inventory", http_event("set_inventory", body={"onHand": 10, "shards": 4}))
    expires = datetime.now(UTC) + timedelta(minutes=15)
    reserve_stock(DynamoDbStockLedger(sample_product), "chk-2", [ReservationLine(SKU, 6)], expires)
    before = table_snapshot(sample_product)
    # When an operator reshards to 16 with on hand 5
    response = call("set_inventory", http_event("set_inventory", body={"onHand": 5, "shards": 16}))
    # Then 409 BELOW_RESERVED and no shard item changed
    assert_problem(response, 409, "BELOW_RESERVED")
    assert table_snapshot(sample_product) == before
