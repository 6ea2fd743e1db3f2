"""The catalog functions, called with the events/ samples against a moto table built from template.yaml.

Every refusal is checked twice: the problem+json answer, and that the table did not change at all.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.support.handlers import load_handler
from tests.support.lambda_events import FakeLambdaContext, http_event, load_event, response_json

pytestmark = pytest.mark.integration

CUSTOMER = {"sub": "c0ffee00-0000-4000-8000-000000000001", "cognito:groups": "[customers]", "token_use": "access"}


def call(function: str, event: dict[str, Any]) -> dict[str, Any]:
    return load_handler(function)(event, FakeLambdaContext())


def at(event: dict[str, Any], path: str) -> dict[str, Any]:
    """The sample event sent to another concrete path (the resolver routes on the raw path)."""
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    return event


def anonymous(event: dict[str, Any]) -> dict[str, Any]:
    event["requestContext"].pop("authorizer", None)
    event["headers"].pop("authorization", None)
    return event


def table_snapshot(table: str) -> list[str]:
    items: list[str] = []
    for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table):
        items += [json.dumps(item, sort_keys=True) for item in page["Items"]]
    return sorted(items)


def sample_body() -> dict[str, Any]:
    return json.loads(load_event("create_product")["body"])


def product_body(name: str, *skus: str, category: str = "shoes", amount: int = 12900) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"{name}, described.",
        "category": category,
        "variants": [
            {"sku": sku, "name": f"Variant {sku}", "price": {"amount": amount, "currency": "EUR"}} for sku in skus
        ],
    }


def create(body: dict[str, Any]) -> dict[str, Any]:
    response = call("create_product", http_event("create_product", body=body))
    assert response["statusCode"] == 201, response["body"]
    return response_json(response)


def replace(product_id: str, body: dict[str, Any] | None = None, raw_body: str | None = None) -> dict[str, Any]:
    event = http_event("replace_product", body=body, raw_body=raw_body, path_parameters={"productId": product_id})
    return call("replace_product", at(event, f"/admin/products/{product_id}"))


def get_public(product_id: str) -> dict[str, Any]:
    event = http_event("get_product", path_parameters={"productId": product_id})
    return call("get_product", at(event, f"/products/{product_id}"))


def assert_problem(response: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    assert response["statusCode"] == status, response["body"]
    assert response["headers"]["Content-Type"] == "application/problem+json"
    problem = response_json(response)
    assert problem["status"] == status
    assert problem["code"] == code
    assert response["headers"]["X-Request-Id"]
    return problem


# ---------------------------------------------------------------------------------------------- create / get


def test_create_then_read_publicly(commerce_table: str) -> None:
    # Given the sample POST /admin/products from an operator
    event = http_event("create_product")
    # When it is handled
    response = call("create_product", event)
    # Then 201 with the product, its SKUs at zero stock, a Location and the request id
    assert response["statusCode"] == 201
    created = response_json(response)
    assert created["name"] == "Trail Runner 2"
    assert created["category"] == "shoes"
    assert [(v["sku"], v["available"], v["onHand"]) for v in created["variants"]] == [
        ("TR2-BLK-42", 0, 0),
        ("TR2-BLK-43", 0, 0),
    ]
    assert response["headers"]["Location"] == f"/products/{created['productId']}"
    assert response["headers"]["X-Request-Id"] == event["requestContext"]["requestId"]
    # And GET /products/{id} shows the public shape
    public = get_public(created["productId"])
    assert public["statusCode"] == 200
    body = response_json(public)
    assert set(body) == {"productId", "name", "description", "category", "variants", "updatedAt"}
    assert body["variants"][0] == {
        "sku": "TR2-BLK-42",
        "name": "Black, EU 42",
        "price": {"amount": 12900, "currency": "EUR"},
        "available": 0,
    }
    assert body["updatedAt"].endswith("Z")


def test_sample_get_product_event_for_an_unknown_product_is_404(commerce_table: str) -> None:
    # Given an empty catalog, When the sample GET /products/{id} runs, Then 404 NOT_FOUND
    assert_problem(call("get_product", http_event("get_product")), 404, "NOT_FOUND")
    # And a malformed id is simply not found either
    assert_problem(get_public("../../etc"), 404, "NOT_FOUND")


def test_create_with_a_taken_sku_is_409_and_writes_nothing(commerce_table: str) -> None:
    # Given a product owning TR2-BLK-43
    create(sample_body())
    before = table_snapshot(commerce_table)
    # When another product is created with a new SKU and TR2-BLK-43
    response = call("create_product", http_event("create_product", body=product_body("Other", "NEW-1", "TR2-BLK-43")))
    # Then 409 SKU_EXISTS names the variant, and neither the product nor NEW-1 was written
    problem = assert_problem(response, 409, "SKU_EXISTS")
    assert [e["field"] for e in problem["errors"]] == ["variants[1].sku"]
    assert table_snapshot(commerce_table) == before


BIG = "x" * (64 * 1024 + 1)


@pytest.mark.parametrize(
    ("raw", "status", "field"),
    [
        ("{not json", 400, None),
        ("", 400, None),
        ("[]", 400, None),
        (json.dumps({**product_body("A", "A-1"), "productId": "x"}), 400, "productId"),
        (json.dumps(product_body("", "A-1")), 400, "name"),
        (json.dumps(product_body("   ", "A-1")), 400, "name"),
        (json.dumps(product_body("A")), 400, "variants"),
        (json.dumps(product_body("A", "A-1", "A-1")), 400, "variants[1].sku"),
        (json.dumps(product_body("A", "a-1")), 400, "variants[0].sku"),
        (json.dumps(product_body("A", "A-1", amount=-5)), 400, "variants[0].price.amount"),
        (json.dumps({**product_body("A", "A-1"), "category": 5}), 400, "category"),
        (
            json.dumps(
                {
                    **product_body("A", "A-1"),
                    "variants": [{"sku": "A-1", "name": "x", "price": {"amount": "100", "currency": "EUR"}}],
                }
            ),
            400,
            "variants[0].price.amount",
        ),
        (
            json.dumps(
                {
                    **product_body("A", "A-1"),
                    "variants": [
                        {"sku": "A-1", "name": "x", "price": {"amount": 100, "currency": "EUR"}},
                        {"sku": "A-2", "name": "y", "price": {"amount": 100, "currency": "USD"}},
                    ],
                }
            ),
            400,
            "variants[1].price.currency",
        ),
        (
            json.dumps(
                {
                    **product_body("A", "A-1"),
                    "variants": [{"sku": "A-1", "name": "x", "price": {"amount": 1, "currency": "EURO"}}],
                }
            ),
            400,
            "variants[0].price.currency",
        ),
        (json.dumps({**product_body("A", "A-1"), "description": BIG}), 413, None),
    ],
)
def test_bad_create_bodies_are_refused_and_write_nothing(
    commerce_table: str, raw: str, status: int, field: str | None
) -> None:
    # Given an empty catalog
    before = table_snapshot(commerce_table)
    # When POST /admin/products carries a bad body
    response = call("create_product", http_event("create_product", raw_body=raw))
    # Then a 4xx problem naming the field, and nothing written
    problem = assert_problem(response, status, "PAYLOAD_TOO_LARGE" if status == 413 else "VALIDATION_ERROR")
    if field is not None:
        assert field in {e["field"] for e in problem["errors"]}
    assert table_snapshot(commerce_table) == before


@pytest.mark.parametrize(
    ("function", "base"),
    [("create_product", "create_product"), ("admin_list_products", "admin_list_products")],
)
def test_admin_endpoints_require_an_operator(commerce_table: str, function: str, base: str) -> None:
    # Given no credentials, then a customer's token
    before = table_snapshot(commerce_table)
    # When an admin endpoint is called, Then 401 then 403, and nothing is written
    assert_problem(call(function, anonymous(http_event(base))), 401, "UNAUTHENTICATED")
    assert_problem(call(function, http_event(base, claims=CUSTOMER)), 403, "FORBIDDEN")
    assert table_snapshot(commerce_table) == before


# ---------------------------------------------------------------------------------------------- replace


def test_replace_retires_dropped_skus_and_keeps_stock(commerce_table: str) -> None:
    # Given the sample product with 6 units of TR2-BLK-42
    created = create(sample_body())
    pid = created["productId"]
    stock = call("set_inventory", http_event("set_inventory", body={"onHand": 6}))
    assert stock["statusCode"] == 200
    # When the sample PUT replaces it: keeps TR2-BLK-42, adds TR2-BLK-44, drops TR2-BLK-43
    event = http_event("replace_product", path_parameters={"productId": pid})
    response = call("replace_product", at(event, f"/admin/products/{pid}"))
    # Then 200 with the kept stock, the new SKU at zero and the dropped one retired
    assert response["statusCode"] == 200, response["body"]
    replaced = response_json(response)
    assert [(v["sku"], v["onHand"], v["retired"]) for v in replaced["variants"]] == [
        ("TR2-BLK-42", 6, False),
        ("TR2-BLK-44", 0, False),
        ("TR2-BLK-43", 0, True),
    ]
    # And the public view no longer sells TR2-BLK-43, while its SKU item says it is retired (carts read it)
    public = response_json(get_public(pid))
    assert [v["sku"] for v in public["variants"]] == ["TR2-BLK-42", "TR2-BLK-44"]
    item = boto3.client("dynamodb").get_item(
        TableName=commerce_table, Key={"PK": {"S": "SKU#TR2-BLK-43"}, "SK": {"S": "SKU"}}
    )["Item"]
    assert item["retired"] == {"BOOL": True}
    assert item["productId"] == {"S": pid}


def test_replace_of_an_unknown_product_is_404_and_writes_nothing(commerce_table: str) -> None:
    # Given an empty catalog, When the sample PUT runs, Then 404 and nothing is written (no SKU created)
    before = table_snapshot(commerce_table)
    assert_problem(call("replace_product", http_event("replace_product")), 404, "NOT_FOUND")
    assert table_snapshot(commerce_table) == before


def test_replace_with_another_products_sku_is_409_and_writes_nothing(commerce_table: str) -> None:
    # Given two products
    first = create(product_body("First", "F-1"))
    create(product_body("Second", "S-1"))
    before = table_snapshot(commerce_table)
    # When the first is replaced claiming S-1
    response = replace(first["productId"], product_body("First", "F-1", "S-1"))
    # Then 409 SKU_EXISTS and nothing changed
    problem = assert_problem(response, 409, "SKU_EXISTS")
    assert [e["field"] for e in problem["errors"]] == ["variants[1].sku"]
    assert table_snapshot(commerce_table) == before


@pytest.mark.parametrize(
    "raw",
    [
        "{",
        json.dumps({"name": "x"}),
        json.dumps({**product_body("A", "F-1"), "extra": True}),
        json.dumps(product_body("A", "F-1", "F-1")),
    ],
)
def test_bad_replace_bodies_are_400_and_write_nothing(commerce_table: str, raw: str) -> None:
    # Given a product
    pid = create(product_body("First", "F-1"))["productId"]
    before = table_snapshot(commerce_table)
    # When replaced with a bad body, Then 400 and nothing changed
    assert_problem(replace(pid, raw_body=raw), 400, "VALIDATION_ERROR")
    assert table_snapshot(commerce_table) == before


def test_replace_requires_an_operator(commerce_table: str) -> None:
    # Given a product
    pid = create(product_body("First", "F-1"))["productId"]
    before = table_snapshot(commerce_table)
    # When a customer or nobody replaces it, Then 403 / 401 and nothing changed
    event = http_event("replace_product", claims=CUSTOMER, path_parameters={"productId": pid})
    assert_problem(call("replace_product", at(event, f"/admin/products/{pid}")), 403, "FORBIDDEN")
    event = anonymous(http_event("replace_product", path_parameters={"productId": pid}))
    assert_problem(call("replace_product", at(event, f"/admin/products/{pid}")), 401, "UNAUTHENTICATED")
    assert table_snapshot(commerce_table) == before


# ---------------------------------------------------------------------------------------------- listings


def list_public(query: dict[str, str]) -> dict[str, Any]:
    return call("list_products", http_event("list_products", query=query))


def test_public_listing_pages_with_opaque_cursors(commerce_table: str) -> None:
    # Given five shoes and one shirt
    for i, name in enumerate(["Eagle", "alpine", "Dune", "cedar", "Birch"]):
        create(product_body(name, f"SH-{i}"))
    create(product_body("Tee", "TEE-1", category="shirts"))
    # When the sample listing (category=shoes) is paged two at a time
    names: list[str] = []
    query = {"category": "shoes", "limit": "2"}
    for _ in range(5):
        response = list_public(query)
        assert response["statusCode"] == 200, response["body"]
        page = response_json(response)
        assert set(page) == {"items", "nextCursor"}
        names += [p["name"] for p in page["items"]]
        if page["nextCursor"] is None:
            break
        query = {"category": "shoes", "limit": "2", "cursor": page["nextCursor"]}
    # Then every shoe appears once, by name regardless of case, and the shirt does not
    assert names == ["alpine", "Birch", "cedar", "Dune", "Eagle"]


def test_public_listing_searches_by_name_prefix(commerce_table: str) -> None:
    # Given three products
    create(product_body("Trail Runner", "T-1"))
    create(product_body("Trail Tee", "T-2", category="shirts"))
    create(product_body("Road Runner", "R-1"))
    # When searching q=trail, Then both trail products, in name order
    page = response_json(list_public({"q": "trail"}))
    assert [p["name"] for p in page["items"]] == ["Trail Runner", "Trail Tee"]
    assert page["nextCursor"] is None


def test_public_listing_shows_only_sellable_variants(commerce_table: str) -> None:
    # Given a product that retired one of its two SKUs
    pid = create(product_body("Boot", "B-1", "B-2"))["productId"]
    assert replace(pid, product_body("Boot", "B-1"))["statusCode"] == 200
    # When listed publicly and by an operator
    public = response_json(list_public({}))["items"][0]
    admin = response_json(call("admin_list_products", http_event("admin_list_products")))["items"][0]
    # Then the public sees B-1 only; operators see both, B-2 flagged retired
    assert [v["sku"] for v in public["variants"]] == ["B-1"]
    assert [(v["sku"], v["retired"]) for v in admin["variants"]] == [("B-1", False), ("B-2", True)]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"limit": "-1"},
        {"sort": "price"},
        {"cursor": "garbage"},
        {"cursor": "eyJuIjoiYSIsImlkIjoiYiJ9.AAAAAAAAAAAAAAAAAAAAAA"},
        {"q": "x" * 201},
    ],
)
@pytest.mark.parametrize("function", ["list_products", "admin_list_products"])
def test_bad_listing_parameters_are_400(commerce_table: str, function: str, query: dict[str, str]) -> None:
    # Given any catalog, When a listing gets a bad parameter, Then 400 VALIDATION_ERROR naming it
    problem = assert_problem(call(function, http_event(function, query=query)), 400, "VALIDATION_ERROR")
    assert {e["field"] for e in problem["errors"]} == set(query)


def test_a_cursor_only_works_for_the_listing_that_issued_it(commerce_table: str) -> None:
    # Given a cursor from the shoes listing
    for i in range(3):
        create(product_body(f"Shoe {i}", f"S-{i}"))
    cursor = response_json(list_public({"category": "shoes", "limit": "1"}))["nextCursor"]
    assert cursor
    # When it is used with another filter or edited, Then 400 on the cursor field
    # (Every cursor's position part starts "eyJ", base64 of '{"'; "f" changes its first byte.)
    edited = "f" + cursor[1:]
    for query in (
        {"category": "shirts", "cursor": cursor},
        {"q": "shoe", "cursor": cursor},
        {"category": "shoes", "cursor": edited},
    ):
        problem = assert_problem(list_public(query), 400, "VALIDATION_ERROR")
        assert [e["field"] for e in problem["errors"]] == ["cursor"]
