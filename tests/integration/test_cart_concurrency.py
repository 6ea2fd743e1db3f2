"""Concurrent add-to-cart calls on one cart, through the local edge (whose DynamoDB conditional writes are
atomic, as DynamoDB's are): no update is ever lost."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from commerce.adapters.dynamodb.carts import DynamoCartStore
from commerce.adapters.dynamodb.client import dynamodb_client
from commerce.api.identity import StorefrontSettings
from commerce.domain.carts.service import CartService
from commerce.domain.errors import CommerceError
from commerce.domain.sessions.models import Credentials
from commerce.domain.sessions.tokens import parse_token
from commerce.settings import load_settings
from localcloud.edge import EdgeApp
from localcloud.server import BackgroundServer
from tests.support.carts import Answer, Storefront, configure, line_quantities
from tests.support.template import create_table

pytestmark = pytest.mark.integration


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A table from template.yaml behind a real edge server; the handlers reach it via AWS_ENDPOINT_URL."""
    with BackgroundServer(EdgeApp(), name="cart-edge") as edge:
        name = f"commerce-{uuid.uuid4().hex[:8]}"
        configure(monkeypatch, AWS_ENDPOINT_URL=edge.url, TABLE_NAME=name)
        create_table(boto3.client("dynamodb"), "CommerceTable", name)
        yield name
        dynamodb_client.cache_clear()  # the next test's client must not point at this stopped edge


def own_client() -> Callable[[], Any]:
    client = boto3.client("dynamodb")
    return lambda: client


def add_concurrently(table: str, token: str, additions: list[tuple[str, int]]) -> list[Answer]:
    """Run the add-to-cart operation for each addition at the same moment, one thread per caller.

    Each caller has its own cart service and DynamoDB client, as separate Lambda containers would. The
    threads call the service (what the handler calls) rather than the handler: Powertools' resolver keeps
    the current event in class state, which is right for Lambda's one-request-per-container model but
    cannot be shared by threads in one process. The handler's own retry path is covered by test_cart_calls.
    """
    settings = load_settings(StorefrontSettings)
    callers = [
        CartService(
            DynamoCartStore(table, client=own_client()),
            settings.cart_limits,
            settings.session_policy,
        )
        for _ in additions
    ]
    credentials = Credentials(parse_token(token))
    start = threading.Barrier(len(additions))

    def add(index: int) -> Answer:
        sku, quantity = additions[index]
        start.wait()
        try:
            cart = callers[index].add_line(credentials, sku, quantity)
        except CommerceError as refused:
            return Answer(status=refused.code.status, body={"code": refused.code.value}, headers={})
        return Answer(status=200, body=cart.to_json(), headers={})

    with ThreadPoolExecutor(max_workers=len(additions)) as pool:
        return list(pool.map(add, range(len(additions))))


def test_two_concurrent_adds_to_one_cart_both_count(table: str) -> None:
    # Given a session with an empty cart and two SKUs in stock
    shop = Storefront(table)
    shop.seed_sku("MUG-WHITE", available=50)
    shop.seed_sku("CAP-BLACK", available=50)
    token = shop.new_session()
    # When two add-to-cart operations race (released together)
    answers = add_concurrently(table, token, [("MUG-WHITE", 2), ("CAP-BLACK", 3)])
    # Then both succeed (the loser of the conditional write re-read and re-applied) and both lines are kept
    assert [a.status for a in answers] == [200, 200]
    assert line_quantities(shop.call("get_cart", token)) == {"MUG-WHITE": 2, "CAP-BLACK": 3}


def test_many_concurrent_adds_never_lose_an_accepted_update(table: str) -> None:
    # Given a session and one SKU
    shop = Storefront(table)
    shop.seed_sku("MUG-WHITE", available=50)
    token = shop.new_session()
    # When six operations each add 1 unit at the same moment
    answers = add_concurrently(table, token, [("MUG-WHITE", 1)] * 6)
    # Then every one either succeeded or answered 409 CONFLICT after its retries, and the line holds
    # exactly one unit per success: nothing accepted was lost, nothing refused was applied
    assert {a.status for a in answers} <= {200, 409}
    assert all(a.code == "CONFLICT" for a in answers if a.status == 409)
    successes = sum(a.status == 200 for a in answers)
    assert successes >= 1
    assert line_quantities(shop.call("get_cart", token)) == {"MUG-WHITE": successes}
