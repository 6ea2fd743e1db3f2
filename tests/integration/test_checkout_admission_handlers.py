"""POST /checkouts and GET /checkouts/{checkoutId} against moto: the commerce table, the idempotency table and
the checkout queue are built from template.yaml's own properties; the handlers are called with the events/
samples, as API Gateway calls them."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from commerce.adapters.dynamodb.client import from_attrs
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.domain.checkout.models import checkout_id_for
from commerce.domain.inventory.models import StockSettings
from tests.support.carts import SAMPLE_SKU, Storefront, configure
from tests.support.handlers import load_handler
from tests.support.lambda_events import FakeLambdaContext, http_event
from tests.support.template import create_table, resource

pytestmark = pytest.mark.integration

MAX_DEPTH = 3
BODY: dict[str, Any] = {
    "email": "ada@example.com",
    "shippingAddress": {
        "name": "Ada Lovelace",
        "line1": "12 Analytical St",
        "city": "London",
        "postalCode": "N1 9GU",
        "country": "GB",
    },
}
CHECKOUT_FIELDS = {"checkoutId", "orderId", "status", "total", "payment", "failure", "createdAt", "updatedAt"}


def create_queue(sqs: Any, logical_id: str, name: str, arns: dict[str, str]) -> str:
    """A queue as template.yaml declares `logical_id` (its GetAtt references resolved through `arns`)."""
    props = resource(logical_id)["Properties"]
    attributes = {
        key: str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "SqsManagedSseEnabled")
        if key in props
    }
    if "RedrivePolicy" in props:
        policy = dict(props["RedrivePolicy"])
        target = policy["deadLetterTargetArn"]["Fn::GetAtt"]
        policy["deadLetterTargetArn"] = arns[target[0] if isinstance(target, list) else target.split(".")[0]]
        attributes["RedrivePolicy"] = json.dumps(policy)
    url = str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    arns[logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


class Shop(Storefront):
    """The storefront plus the two checkout functions, the idempotency table and the checkout queue."""

    def __init__(self, table: str, idempotency_table: str, queue_url: str) -> None:
        super().__init__(table)
        self.idempotency_table = idempotency_table
        self.queue_url = queue_url
        self.sqs = boto3.client("sqs")
        self.checkout_handlers: dict[str, Any] = {}

    def checkout_handler(self, function: str) -> Any:
        if function not in self.checkout_handlers:
            self.checkout_handlers[function] = load_handler(function, fresh=True)
        return self.checkout_handlers[function]

    def checkout(
        self,
        token: str | None,
        key: str | None = "key-1",
        *,
        body: Any = BODY,
        raw_body: str | None = None,
        handler: Any = None,
    ) -> Answer:
        """POST /checkouts; `handler`: another container's handler than this shop's."""
        event = http_event("create_checkout", body=body, raw_body=raw_body)
        event["headers"].pop("idempotency-key", None)
        if key is not None:
            event["headers"]["idempotency-key"] = key
        return self._call(handler or self.checkout_handler("create_checkout"), event, token)

    def get(self, token: str | None, checkout_id: str) -> Answer:
        event = http_event("get_checkout", path_parameters={"checkoutId": checkout_id})
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/checkouts/{checkout_id}"
        return self._call(self.checkout_handler("get_checkout"), event, token)

    def _call(self, handler: Any, event: dict[str, Any], token: str | None) -> Answer:
        event["headers"].pop("x-session-token", None)
        if token is not None:
            event["headers"]["x-session-token"] = token
        response = handler(event, FakeLambdaContext())
        assert response["headers"]["X-Request-Id"] == event["requestContext"]["requestId"]
        return Answer(response["statusCode"], json.loads(response["body"]), response["headers"])

    def stock(self, sku: str) -> tuple[int, int]:
        item = self.item(f"SKU#{sku}", "SKU")
        assert item is not None
        return int(item["reserved"]), int(item["available"])

    def messages(self) -> list[Any]:
        """Every message on the checkout queue (received and left invisible: the queue is read once per test)."""
        found = []
        while batch := self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages"):
            found += [json.loads(message["Body"]) for message in batch]
        return found

    def depth(self) -> int:
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def everything(self) -> tuple[Any, ...]:
        """Both tables and the queue depth: compare two of these to prove a request changed nothing."""
        records = self.client.scan(TableName=self.idempotency_table, ConsistentRead=True)["Items"]
        return (self.items(), [from_attrs(r) for r in records], self.depth())


@pytest.fixture
def shop(commerce_table: str, monkeypatch: pytest.MonkeyPatch) -> Shop:
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    create_table(dynamodb, "IdempotencyTable", "idempotency-test")
    arns: dict[str, str] = {}
    create_queue(sqs, "CheckoutDeadLetterQueue", "checkout-dlq-test", arns)
    queue_url = create_queue(sqs, "CheckoutQueue", "checkout-queue-test", arns)
    env = {
        "IDEMPOTENCY_TABLE_NAME": "idempotency-test",
        "IDEMPOTENCY_KEY_RETENTION_HOURS": "24",
        "CHECKOUT_QUEUE_URL": queue_url,
        "CHECKOUT_QUEUE_MAX_DEPTH": str(MAX_DEPTH),
        "RESERVATION_MINUTES": "30",
    }
    # The function's own variables in template.yaml are exactly these (the globals come from `configure`).
    assert set(resource("CreateCheckoutFunction")["Properties"]["Environment"]["Variables"]) == set(env)
    configure(monkeypatch, **env)
    shop = Shop(commerce_table, "idempotency-test", queue_url)
    shop.seed_sku(SAMPLE_SKU, amount=1500, available=5)
    shop.seed_sku("MUG-WHITE", amount=900, product_name="Mug", variant_name="White", available=1)
    return shop


def session_with_cart(shop: Shop, **lines: int) -> str:
    token = shop.new_session()
    for sku, quantity in (lines or {SAMPLE_SKU: 2}).items():
        assert shop.add(token, sku.replace("_", "-"), quantity).status == 200
    return token


def test_a_checkout_is_accepted_queued_and_read_by_its_owner_only(shop: Shop) -> None:
    # Given a session with 2 of the sample SKU (1500 each) in its cart
    token = session_with_cart(shop)
    # When it checks out
    answer = shop.checkout(token)
    # Then 202 with the checkout, QUEUED, and where to poll it
    assert answer.status == 202, answer.body
    checkout = answer.body
    assert set(checkout) == CHECKOUT_FIELDS
    assert checkout["status"] == "QUEUED"
    assert checkout["total"] == {"amount": 3000, "currency": "EUR"}
    assert (checkout["payment"], checkout["failure"]) == (None, None)
    assert checkout["checkoutId"] == checkout_id_for(f"SESSION#{token.split('.')[0]}", "key-1")
    assert answer.headers["Location"] == f"/checkouts/{checkout['checkoutId']}"
    # And the units are reserved, the checkout recorded (and listed as queued), and its message sent
    assert shop.stock(SAMPLE_SKU) == (2, 3)
    record = shop.item(f"CHECKOUT#{checkout['checkoutId']}", "CHECKOUT")
    assert record is not None
    assert record["status"] == "QUEUED"
    assert record["lines"][0]["unitPrice"] == {"amount": 1500, "currency": "EUR"}
    assert record["GSI1PK"].startswith("QUEUED_CHECKOUTS#")
    assert shop.messages() == [{"checkoutId": checkout["checkoutId"]}]
    # When its session reads it, Then it is the same checkout
    read = shop.get(token, checkout["checkoutId"])
    assert (read.status, read.body) == (200, checkout)
    # When another session, nobody, or a malformed id asks, Then 404 (or 401 without a session)
    other = shop.get(shop.new_session(), checkout["checkoutId"])
    assert (other.status, other.code) == (404, "NOT_FOUND")
    assert "orderId" not in json.dumps(other.body)
    assert shop.get(token, "not-a-checkout").status == 404
    assert shop.get(None, checkout["checkoutId"]).status == 401


def test_the_same_key_and_body_replay_the_first_answer_with_one_checkout(shop: Shop) -> None:
    # Given an accepted checkout
    token = session_with_cart(shop)
    first = shop.checkout(token)
    assert first.status == 202
    # When the storefront retries with the same key and the same body (padding aside)
    padded = {**BODY, "email": f"  {BODY['email']} "}
    again = shop.checkout(token, body=padded)
    # Then it gets the same answer: same status, same checkout
    assert (again.status, again.body) == (first.status, first.body)
    assert again.headers["Location"] == first.headers["Location"]
    # And there is one checkout, one reservation and one message
    assert shop.stock(SAMPLE_SKU) == (2, 3)
    assert len([i for i in shop.items() if i["PK"].startswith("CHECKOUT#")]) == 1
    assert len([i for i in shop.items() if i["PK"].startswith("RESERVATION#")]) == 1
    assert len(shop.messages()) == 1


def test_the_same_key_with_another_body_is_422_and_changes_nothing(shop: Shop) -> None:
    # Given an accepted checkout
    token = session_with_cart(shop)
    assert shop.checkout(token).status == 202
    before = shop.everything()
    # When the same key comes with another address
    other = {**BODY, "shippingAddress": {**BODY["shippingAddress"], "city": "Paris"}}
    answer = shop.checkout(token, body=other)
    # Then 422 IDEMPOTENCY_KEY_REUSED, and nothing changed
    assert (answer.status, answer.code) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert shop.everything() == before


def test_the_key_belongs_to_the_session(shop: Shop) -> None:
    # Given two sessions with carts, When both use the same key, Then each gets its own checkout
    first = shop.checkout(session_with_cart(shop))
    second = shop.checkout(session_with_cart(shop))
    assert (first.status, second.status) == (202, 202)
    assert first.body["checkoutId"] != second.body["checkoutId"]
    assert shop.stock(SAMPLE_SKU) == (4, 1)


def test_a_request_still_in_progress_is_409(shop: Shop) -> None:
    # Given a checkout request that is still being processed (in one container) when its retry arrives (in
    # another container of the same function)
    token = session_with_cart(shop)
    shop.checkout_handler("create_checkout")
    first_container = sys.modules["functions.create_checkout.app"]
    second_container = load_handler("create_checkout", fresh=True)
    retries: list[Answer] = []
    place: Callable[..., Any] = first_container.desk.place

    def place_while_retried(*args: Any) -> Any:
        # Powertools keeps the current request on its resolver class, once per process: a Lambda container
        # serves one request at a time. Restore it after the request that stands for the other container.
        current = BaseRouter.current_event
        retries.append(shop.checkout(token, handler=second_container))
        BaseRouter.current_event = current
        return place(*args)

    first_container.desk.place = place_while_retried
    # When the first request completes
    first = shop.checkout(token)
    # Then the retry that came meanwhile got 409 REQUEST_IN_PROGRESS, and the first one 202
    assert [(r.status, r.code) for r in retries] == [(409, "REQUEST_IN_PROGRESS")]
    assert first.status == 202
    assert shop.stock(SAMPLE_SKU) == (2, 3)
    # And once it is done, the retry gets the first answer
    assert shop.checkout(token, handler=second_container).body == first.body


def test_missing_or_malformed_key_is_400_and_changes_nothing(shop: Shop) -> None:
    # Given a session with a cart
    token = session_with_cart(shop)
    before = shop.everything()
    # When it checks out without a key, with a blank one, or with a malformed one
    missing, blank, malformed = shop.checkout(token, None), shop.checkout(token, "  "), shop.checkout(token, "a b")
    # Then 400 and nothing changed
    assert (missing.status, missing.code) == (400, "IDEMPOTENCY_KEY_REQUIRED")
    assert (blank.status, blank.code) == (400, "IDEMPOTENCY_KEY_REQUIRED")
    assert (malformed.status, malformed.code) == (400, "VALIDATION_ERROR")
    assert shop.everything() == before


def test_an_empty_cart_is_409_and_the_key_stays_usable(shop: Shop) -> None:
    # Given a session with an empty cart
    token = shop.new_session()
    before = shop.everything()
    # When it checks out, Then 409 CART_EMPTY and nothing changed
    answer = shop.checkout(token)
    assert (answer.status, answer.code) == (409, "CART_EMPTY")
    assert shop.everything() == before
    # When it adds a line and retries with the same key, Then the checkout is accepted
    assert shop.add(token, SAMPLE_SKU, 1).status == 200
    assert shop.checkout(token).status == 202


def test_out_of_stock_is_409_per_line_and_reserves_nothing(shop: Shop) -> None:
    # Given a cart holding what was available when added
    token = session_with_cart(shop, TSHIRT_RED_M=3, MUG_WHITE=1)
    # And meanwhile another customer bought the only mug
    assert shop.checkout(session_with_cart(shop, MUG_WHITE=1)).status == 202
    before = shop.everything()
    # When the first session checks out
    answer = shop.checkout(token)
    # Then 409 OUT_OF_STOCK names the short line (the mug, line 1) and nothing was reserved
    assert (answer.status, answer.code) == (409, "OUT_OF_STOCK")
    assert [e["field"] for e in answer.body["errors"]] == ["lines[1].quantity"]
    assert "MUG-WHITE" in answer.body["errors"][0]["message"]
    assert shop.stock(SAMPLE_SKU) == (0, 5)
    assert shop.everything() == before


def test_a_busy_queue_is_429_with_retry_after_and_reserves_nothing(shop: Shop) -> None:
    # Given more checkouts waiting for admission than allowed
    for _ in range(MAX_DEPTH + 1):
        shop.sqs.send_message(QueueUrl=shop.queue_url, MessageBody='{"checkoutId": "waiting"}')
    token = session_with_cart(shop)
    before = shop.everything()
    # When a session checks out
    answer = shop.checkout(token)
    # Then 429 BUSY says when to retry, and nothing was reserved or recorded
    assert (answer.status, answer.code) == (429, "BUSY")
    assert int(answer.headers["Retry-After"]) > 0
    assert shop.everything() == before


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ("not json", 400, "VALIDATION_ERROR"),
        ("", 400, "VALIDATION_ERROR"),
        ("[]", 400, "VALIDATION_ERROR"),
        (json.dumps({**BODY, "total": {"amount": 1, "currency": "EUR"}}), 400, "VALIDATION_ERROR"),
        (
            json.dumps({**BODY, "shippingAddress": {**BODY["shippingAddress"], "country": "XX"}}),
            400,
            "VALIDATION_ERROR",
        ),
        (
            json.dumps({**BODY, "shippingAddress": {**BODY["shippingAddress"], "country": "fr"}}),
            400,
            "VALIDATION_ERROR",
        ),
        (json.dumps({**BODY, "email": 7}), 400, "VALIDATION_ERROR"),
        (json.dumps({**BODY, "pad": "x" * (64 * 1024)}), 413, "PAYLOAD_TOO_LARGE"),
    ],
)
def test_bad_bodies_are_refused_and_change_nothing(shop: Shop, raw: str, status: int, code: str) -> None:
    # Given a session with a cart
    token = session_with_cart(shop)
    before = shop.everything()
    # When it checks out with a bad body, Then a 4xx problem and nothing changed
    answer = shop.checkout(token, raw_body=raw)
    assert (answer.status, answer.code) == (status, code)
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert shop.everything() == before


def test_without_a_valid_session_nothing_happens(shop: Shop) -> None:
    # Given no session, or a forged one (a real session's id with another secret)
    forged = shop.new_session().split(".")[0] + "." + "A" * 43
    before = shop.everything()
    # When checking out, Then 401 and nothing changed
    for token in (None, forged):
        answer = shop.checkout(token)
        assert (answer.status, answer.code) == (401, "UNAUTHENTICATED")
    assert shop.everything() == before


def test_over_the_purchase_limit_is_409_per_line_and_reserves_nothing(shop: Shop) -> None:
    # Given the T-shirt is limited to 2 per buyer (over 2 shards), and a cart with 3 of them
    DynamoDbStockLedger(shop.table).set_stock(SAMPLE_SKU, StockSettings(5, shards=2, purchase_limit=2))
    token = session_with_cart(shop, TSHIRT_RED_M=3, MUG_WHITE=1)
    before = shop.everything()
    # When the session checks out
    answer = shop.checkout(token)
    # Then 409 PURCHASE_LIMIT names the T-shirt line, and nothing was reserved or recorded
    assert (answer.status, answer.code) == (409, "PURCHASE_LIMIT")
    assert [(e["field"], e["code"]) for e in answer.body["errors"]] == [("lines[0].quantity", "PURCHASE_LIMIT")]
    assert shop.everything() == before
    # And a cart with 2 is accepted, from its 2 shards' stock
    assert shop.checkout(session_with_cart(shop, TSHIRT_RED_M=2)).status == 202
    stock = DynamoDbStockLedger(shop.table).get(SAMPLE_SKU)
    assert stock is not None
    assert (stock.reserved, stock.available) == (2, 3)
