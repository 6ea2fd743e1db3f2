"""How many DynamoDB calls a cart request makes (the minimum adapters/dynamodb/carts.py claims), and that
a write racing with another request is retried instead of lost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from commerce.adapters.dynamodb.client import dynamodb_client, from_attrs, to_attrs
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.domain.inventory.models import StockSettings
from tests.support.carts import SAMPLE_SKU, Storefront, configure, line_quantities

pytestmark = pytest.mark.integration


@pytest.fixture
def storefront(commerce_table: str, monkeypatch: pytest.MonkeyPatch) -> Storefront:
    configure(monkeypatch)
    shop = Storefront(commerce_table)
    shop.seed_sku(SAMPLE_SKU)
    shop.seed_sku("MUG-WHITE", amount=900)
    shop.seed_sku("CAP-BLACK", amount=2000)
    return shop


@pytest.fixture
def calls() -> Iterator[list[str]]:
    """The DynamoDB operations the handlers' client sends, in order (botocore's before-call hook)."""
    seen: list[str] = []

    def record(model: Any, **_: Any) -> None:
        seen.append(model.name)

    client = dynamodb_client()
    client.meta.events.register("before-call.dynamodb.*", record, unique_id="count-cart-calls")
    yield seen
    client.meta.events.unregister("before-call.dynamodb.*", unique_id="count-cart-calls")


def test_add_to_cart_makes_three_calls_and_get_cart_two(storefront: Storefront, calls: list[str]) -> None:
    # Given a session whose cart already has two lines
    token = storefront.new_session()
    storefront.add(token, "MUG-WHITE", 1)
    storefront.add(token, "CAP-BLACK", 1)
    calls.clear()
    # When one add-to-cart runs
    added = storefront.add(token, SAMPLE_SKU, 1)
    # Then it read session + cart + the added SKU in one batch, the other lines' SKUs in a second, and
    # wrote once
    assert added.status == 200
    assert calls == ["BatchGetItem", "BatchGetItem", "PutItem"]
    # When one get-cart runs
    calls.clear()
    cart = storefront.call("get_cart", token)
    # Then it read session + cart in one batch and the lines' SKUs in another, and wrote nothing
    assert cart.status == 200
    assert line_quantities(cart) == {"MUG-WHITE": 1, "CAP-BLACK": 1, SAMPLE_SKU: 1}
    assert calls == ["BatchGetItem", "BatchGetItem"]


def test_on_an_empty_cart_add_makes_two_calls_and_get_one(storefront: Storefront, calls: list[str]) -> None:
    # Given a new session
    token = storefront.new_session()
    calls.clear()
    # When its empty cart is read, Then one batch read is all
    storefront.call("get_cart", token)
    assert calls == ["BatchGetItem"]
    # When its first line is added, Then one batch read (the SKU is in it) and one write
    calls.clear()
    storefront.add(token, SAMPLE_SKU, 1)
    assert calls == ["BatchGetItem", "PutItem"]


def test_a_refused_request_reads_but_never_writes(storefront: Storefront, calls: list[str]) -> None:
    # Given a session, When it asks for an unknown SKU, Then one batch read happened and no write
    token = storefront.new_session()
    calls.clear()
    assert storefront.add(token, "NO-SUCH-SKU", 1).code == "SKU_NOT_FOUND"
    assert calls == ["BatchGetItem"]
    # And a malformed token is refused before any call at all
    calls.clear()
    assert storefront.call("get_cart", "nonsense").status == 401
    assert calls == []


def test_a_bound_session_without_its_jwt_costs_one_extra_read(storefront: Storefront, calls: list[str]) -> None:
    # Given a session bound to a customer (as a sign-in leaves it) whose cart has a line
    token = storefront.new_session()
    storefront.client.update_item(
        TableName=storefront.table,
        Key=to_attrs({"PK": f"SESSION#{token.split('.')[0]}", "SK": "SESSION"}),
        UpdateExpression="SET customerId = :sub",
        ExpressionAttributeValues=to_attrs({":sub": "sub-ada"}),
    )
    storefront.client.put_item(
        TableName=storefront.table,
        Item=to_attrs(
            {"PK": "CART#CUSTOMER#sub-ada", "SK": "CART", "lines": [{"sku": "MUG-WHITE", "quantity": 2}], "version": 1}
        ),
    )
    calls.clear()
    # When the session reads its cart without the JWT
    cart = storefront.call("get_cart", token)
    # Then the customer's cart (whose key only the session names) took one GetItem more
    assert line_quantities(cart) == {"MUG-WHITE": 2}
    assert calls == ["BatchGetItem", "GetItem", "BatchGetItem"]


def test_a_concurrent_write_between_read_and_write_is_retried_not_lost(
    storefront: Storefront, calls: list[str]
) -> None:
    # Given a cart with one mug, and another request that adds 2 caps just before this one writes
    token = storefront.new_session()
    storefront.add(token, "MUG-WHITE", 1)
    key = to_attrs({"PK": f"CART#SESSION#{token.split('.')[0]}", "SK": "CART"})
    raced = False

    def competing_write(**_: Any) -> None:
        nonlocal raced
        if raced:
            return
        raced = True
        other = storefront.client  # another client: the competitor is another Lambda container
        item = from_attrs(other.get_item(TableName=storefront.table, Key=key, ConsistentRead=True)["Item"])
        item["lines"].append({"sku": "CAP-BLACK", "quantity": 2})
        item["version"] += 1
        other.put_item(TableName=storefront.table, Item=to_attrs(item))

    client = dynamodb_client()
    client.meta.events.register("before-call.dynamodb.PutItem", competing_write, unique_id="race")
    try:
        calls.clear()
        # When this request adds 3 of the sample SKU
        answer = storefront.add(token, SAMPLE_SKU, 3)
    finally:
        client.meta.events.unregister("before-call.dynamodb.PutItem", unique_id="race")
    # Then its first conditional write failed, it re-read and re-applied, and all three lines are kept
    assert answer.status == 200
    assert line_quantities(answer) == {"MUG-WHITE": 1, "CAP-BLACK": 2, SAMPLE_SKU: 3}
    assert calls == ["BatchGetItem", "BatchGetItem", "PutItem", "BatchGetItem", "BatchGetItem", "PutItem"]
    assert line_quantities(storefront.call("get_cart", token)) == {"MUG-WHITE": 1, "CAP-BLACK": 2, SAMPLE_SKU: 3}


def test_a_sharded_sku_costs_one_more_batch_read_and_shows_its_summed_stock(
    storefront: Storefront, calls: list[str]
) -> None:
    # Given the mug's 9 units spread over 4 shards (3, 2, 2, 2), and a cart holding one mug
    DynamoDbStockLedger(storefront.table).set_stock("MUG-WHITE", StockSettings(9, shards=4))
    token = storefront.new_session()
    storefront.add(token, "MUG-WHITE", 1)
    # When one get-cart runs, Then one more BatchGetItem reads the other 3 shards
    calls.clear()
    assert storefront.call("get_cart", token).status == 200
    assert calls == ["BatchGetItem", "BatchGetItem", "BatchGetItem"]
    # And the cart checks the sum: 8 (more than any shard holds) is allowed, 10 is more than the 9 there are
    assert storefront.add(token, "MUG-WHITE", 7).status == 200
    assert storefront.add(token, "MUG-WHITE", 2).status == 409
