"""One open checkout per cart, with the real DynamoDB adapters behind the local cloud's edge (which makes each
transaction atomic, as DynamoDB does; in-process moto has no locking): racing requests with different keys,
a lock freed by the final status, and a stale lock left by a crash taken over."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from commerce.adapters.dynamodb.catalog import DynamoDbCatalog
from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.client import to_attrs
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.keys import checkout_key, open_checkout_key
from commerce.domain.carts.models import PricedCart, PricedLine
from commerce.domain.catalog.models import ProductSpec, VariantSpec
from commerce.domain.catalog.service import create_product
from commerce.domain.checkout.errors import CheckoutInProgress
from commerce.domain.checkout.models import CheckoutStatus, Failure, FailureCode
from commerce.domain.checkout.service import AdmissionPolicy, CheckoutDesk, CheckoutDetails
from commerce.domain.inventory.service import get_stock, release_reservation, set_on_hand
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderOwner, ShippingAddress
from commerce.domain.sessions.models import Credentials
from commerce.domain.sessions.tokens import issue_token
from localcloud.edge import EdgeApp
from localcloud.server import BackgroundServer
from tests.support.fakes.checkout import InMemoryCheckoutQueue
from tests.support.template import create_table

pytestmark = pytest.mark.integration

THREADS = 16
SKU = "HOT-1"
POLICY = AdmissionPolicy(reservation_ttl=timedelta(minutes=30), max_queue_depth=1000, busy_retry_after_seconds=5)
DETAILS = CheckoutDetails("ada@example.com", ShippingAddress("Ada", "1 Main St", "Paris", "75001", "FR"))


class OneLineCart:
    """A `CartReader` answering one priced line of the hot SKU (carts are tested on their own)."""

    def view(self, credentials: Credentials) -> PricedCart:
        line = PricedLine(SKU, "p-hot", "Hot item (Only)", 1, Money(999, "EUR"))
        return PricedCart("cart-1", "EUR", (line,), datetime.now(UTC))


class Shop:
    def __init__(self, client: Any, table: str) -> None:
        self.client, self.table = client, table
        self.checkouts = DynamoDbCheckouts(table, client=client)
        self.ledger = DynamoDbStockLedger(table, client=client)
        self.queue = InMemoryCheckoutQueue()
        self.desk = CheckoutDesk(self.checkouts, self.ledger, OneLineCart(), self.queue, POLICY)
        spec = ProductSpec("Hot item", "", "race", (VariantSpec(SKU, "Only", Money(999, "EUR")),))
        create_product(DynamoDbCatalog(table, client=client), spec, now=datetime.now(UTC))
        set_on_hand(self.ledger, SKU, 100)
        token = issue_token()
        self.credentials, self.owner = Credentials(token), OrderOwner(session_id=token.session_id)

    def place(self, key: str) -> str:
        """The placed checkout's id, or "409:<the open checkout's id>"."""
        try:
            return self.desk.place(self.credentials, self.owner, key, DETAILS).checkout.checkout_id
        except CheckoutInProgress as refused:
            return f"409:{refused.checkout_id}"

    def checkout_items(self) -> int:
        items = self.client.scan(TableName=self.table, ConsistentRead=True)["Items"]
        return len([i for i in items if i["PK"]["S"].startswith("CHECKOUT#")])


@pytest.fixture(scope="module")
def edge_server() -> Iterator[BackgroundServer]:
    with BackgroundServer(EdgeApp(), name="open-checkout-edge") as server:
        yield server


@pytest.fixture
def shop(edge_server: BackgroundServer) -> Shop:
    client = boto3.client(
        "dynamodb",
        endpoint_url=edge_server.url,
        region_name="us-east-1",
        config=Config(max_pool_connections=THREADS + 4, retries={"max_attempts": 3, "mode": "standard"}),
    )
    table = f"open-{uuid.uuid4().hex[:12]}"
    create_table(client, "CommerceTable", table)
    return Shop(client, table)


def test_racing_checkouts_of_one_cart_with_different_keys_admit_exactly_one(shop: Shop) -> None:
    # Given one cart, When 16 requests with 16 different keys check it out at the same moment
    barrier = threading.Barrier(THREADS)

    def attempt(n: int) -> str:
        barrier.wait()
        return shop.place(f"key-{n}")

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(attempt, range(THREADS)))
    # Then exactly one is accepted and every other answer names it
    accepted = [a for a in answers if not a.startswith("409:")]
    assert len(accepted) == 1
    assert {a.removeprefix("409:") for a in answers} == set(accepted)
    # And only its unit is held: the losers that got past the first check gave theirs back
    stock = get_stock(shop.ledger, SKU)
    assert (stock.reserved, stock.available) == (1, 99)
    assert shop.checkout_items() == 1
    assert shop.queue.sent == accepted
    assert shop.checkouts.open_checkout_of(f"SESSION#{shop.owner.session_id}") == accepted[0]


def test_the_final_status_frees_the_lock_and_the_next_key_is_accepted(shop: Shop) -> None:
    # Given an open checkout
    first = shop.place("key-1")
    assert shop.place("key-2") == f"409:{first}"
    # When it ends (here: expired) and its stock goes back
    stored = shop.checkouts.get(first)
    assert stored is not None
    expired = stored.moved_to(
        CheckoutStatus.EXPIRED, datetime.now(UTC), failure=Failure(FailureCode.PAYMENT_TIMEOUT, "x")
    )
    shop.checkouts.replace(expired, expected_version=stored.version)
    release_reservation(shop.ledger, first)
    # Then the lock is gone, and a new key checks the cart out again
    assert shop.checkouts.open_checkout_of(stored.cart) is None
    second = shop.place("key-2")
    assert not second.startswith("409:")
    assert shop.checkouts.open_checkout_of(stored.cart) == second


def test_a_lock_left_naming_a_final_checkout_is_taken_over(shop: Shop) -> None:
    # Given a checkout whose final status was written but whose lock was not freed (the process died between)
    first = shop.place("key-1")
    stored = shop.checkouts.get(first)
    assert stored is not None
    cancelled = stored.moved_to(CheckoutStatus.CANCELLED, datetime.now(UTC))
    item = shop.client.get_item(TableName=shop.table, Key=to_attrs(checkout_key(first)), ConsistentRead=True)["Item"]
    item["status"] = {"S": "CANCELLED"}
    item["version"] = {"N": str(cancelled.version)}
    shop.client.put_item(TableName=shop.table, Item=item)
    release_reservation(shop.ledger, first)
    lock = shop.client.get_item(TableName=shop.table, Key=to_attrs(open_checkout_key(stored.cart)))["Item"]
    assert lock["checkoutId"] == {"S": first}
    # When the cart checks out with a new key, Then it is accepted and the lock passes to it
    second = shop.place("key-2")
    assert not second.startswith("409:")
    assert shop.checkouts.open_checkout_of(stored.cart) == second
    assert get_stock(shop.ledger, SKU).reserved == 1
