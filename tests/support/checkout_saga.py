"""The checkout workflow's test harness (no tests): `Payments` seeds stock and queued checkouts, runs the real
task, webhook and refund handlers against moto, the orders database through the local Data API and the
payments sandbox through the official `stripe` package, confirms payments the way a browser does, and replays
the sandbox's signed webhook deliveries into the webhook function. Fixtures: tests/integration/conftest.py.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
import stripe

from commerce.adapters import secrets as secrets_cache
from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.client import dynamodb_client, to_attrs
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.keys import cart_key, guest_owner, sku_key
from commerce.adapters.dynamodb.payments import DynamoDbPaymentRecords
from commerce.adapters.events import events_client
from commerce.adapters.orders_db.client import rds_data_client
from commerce.adapters.orders_db.orders import DataApiOrderRepository
from commerce.adapters.secrets import secretsmanager_client
from commerce.adapters.workflows import stepfunctions_client
from commerce.domain.checkout.models import Checkout, CheckoutStatus
from commerce.domain.inventory.models import ReservationLine, Stock
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderLine, OrderOwner, OrderStatus, ShippingAddress
from commerce.settings import load_settings
from tests.support.event_schemas import check_event
from tests.support.handlers import Handler, load_handler
from tests.support.lambda_events import FakeLambdaContext, load_event
from tests.support.orders_db import CLUSTER_ARN, SECRET_ARN, OrdersCloud, orders_cloud
from tests.support.payments import Received, Served, WebhookReceiver, served_sandbox, stripe_client, wait_until
from tests.support.template import create_table

FUNCTIONS = (
    "request_payment",
    "complete_checkout",
    "compensate_checkout",
    "payment_webhook",
    "refund_order",
    "cancel_order",
    "admin_get_checkout",
)
WEBHOOK_EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "refund.failed",
    "charge.refund.updated",
)
ADDRESS = ShippingAddress(name="Ada Lovelace", line1="12 Analytical St", city="London", postal_code="N1", country="GB")
OPERATOR = {"sub": "op-7d8e9f10", "cognito:groups": "[admin]", "token_use": "access", "username": "operator"}
STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:checkout-test"


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


@dataclass
class Payments:
    """One test's world: a table, a bus, secrets, the module's database and sandbox, the real handlers."""

    table: str
    database: str
    orders_cloud: OrdersCloud
    served: Served
    receiver: WebhookReceiver
    events_queue_url: str
    handlers: dict[str, Handler] = field(default_factory=dict)
    replayed: set[str] = field(default_factory=set)  # delivery bodies already fed to the webhook function

    @property
    def stripe(self) -> stripe.StripeClient:
        return stripe_client(self.served.url)

    @property
    def checkouts(self) -> DynamoDbCheckouts:
        return DynamoDbCheckouts(self.table)

    @property
    def records(self) -> DynamoDbPaymentRecords:
        return DynamoDbPaymentRecords(self.table)

    @property
    def ledger(self) -> DynamoDbStockLedger:
        return DynamoDbStockLedger(self.table)

    @property
    def orders(self) -> DataApiOrderRepository:
        return self.orders_cloud.repository(self.database)

    # -- given ------------------------------------------------------------------------------------------

    def sku(self, on_hand: int = 10, amount: int = 1200) -> str:
        sku = f"SAGA-{uuid.uuid4().hex[:8].upper()}"
        item = {
            **sku_key(sku),
            "productId": f"p-{sku.lower()}",
            "productName": "Espresso cup",
            "variantName": "White",
            "price": {"amount": amount, "currency": "EUR"},
            "onHand": on_hand,
            "reserved": 0,
            "available": on_hand,
            "retired": False,
        }
        dynamodb_client().put_item(TableName=self.table, Item=to_attrs(item))
        return sku

    def checkout(self, *skus_and_quantities: tuple[str, int], session_id: str | None = None) -> Checkout:
        """A checkout as admission leaves it: its lines reserved under its id, recorded QUEUED."""
        now = datetime.now(UTC)
        checkout_id = str(uuid.uuid4())
        lines = tuple(
            OrderLine(sku, f"p-{sku.lower()}", "Espresso cup", q, Money(1200, "EUR")) for sku, q in skus_and_quantities
        )
        self.ledger.reserve(
            checkout_id, [ReservationLine(line.sku, line.quantity) for line in lines], now + timedelta(hours=1)
        )
        total = Money(sum(line.line_total.amount for line in lines), "EUR")
        return self.checkouts.create(
            Checkout(
                checkout_id=checkout_id,
                order_id=str(uuid.uuid4()),
                owner=OrderOwner(session_id=session_id or f"sess-{uuid.uuid4().hex[:12]}"),
                status=CheckoutStatus.QUEUED,
                email="ada@example.com",
                shipping_address=ADDRESS,
                lines=lines,
                total=total,
                reservation_expires_at=now + timedelta(hours=1),
                created_at=now,
                updated_at=now,
            )
        )

    def guest_cart(self, session_id: str, lines: dict[str, int]) -> None:
        item = {
            **cart_key(guest_owner(session_id)),
            "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines.items()],
            "version": 3,
            "updatedAt": "2026-11-22T10:00:00.000Z",
        }
        dynamodb_client().put_item(TableName=self.table, Item=to_attrs(item))

    def cart_lines(self, session_id: str) -> dict[str, int]:
        item = dynamodb_client().get_item(TableName=self.table, Key=to_attrs(cart_key(guest_owner(session_id))))
        lines = item["Item"]["lines"]["L"]
        return {line["M"]["sku"]["S"]: int(line["M"]["quantity"]["N"]) for line in lines}

    # -- the workflow's tasks ------------------------------------------------------------------------------

    def task(self, function: str, **fields: Any) -> Any:
        """Run a task function with its events/ sample, `fields` replacing the sample's."""
        event = {**load_event(function), **fields}
        return self.handlers[function](copy.deepcopy(event), FakeLambdaContext())

    def request_payment(self, checkout_id: str, token: str | None = None) -> str:
        token = token or f"token-{uuid.uuid4().hex}"
        self.task("request_payment", checkoutId=checkout_id, taskToken=token)
        return token

    def compensate(self, checkout_id: str, error: str, cause: str | None = None) -> Any:
        return self.task("compensate_checkout", checkoutId=checkout_id, error={"Error": error, "Cause": cause})

    # -- the customer and the provider ---------------------------------------------------------------------

    def pay(self, checkout_id: str, method: str = "pm_card_visa") -> requests.Response:
        """Confirm the checkout's intent with its client secret, as the storefront's browser does."""
        checkout = self.stored(checkout_id)
        assert checkout.payment is not None
        return requests.post(
            f"{self.served.url}/v1/payment_intents/{checkout.payment.intent_id}/confirm",
            data={"payment_method": method, "client_secret": checkout.payment.client_secret},
            timeout=30,
        )

    def deliveries(self, intent_id: str, count: int) -> list[Received]:
        """The first `count` webhook deliveries about `intent_id` (signed by the sandbox), in delivery order."""

        def about_intent() -> list[Received]:
            return [r for r in self.receiver.received() if intent_id in r.body.decode()]

        wait_until(lambda: len(about_intent()) >= count, f"{count} webhook deliveries about {intent_id}")
        return about_intent()[:count]

    def webhook(self, body: bytes | str, signature: str | None) -> Answer:
        event = load_event("payment_webhook")
        event["requestContext"]["requestId"] = str(uuid.uuid4())
        event["body"] = body.decode() if isinstance(body, bytes) else body
        event["headers"] = {k: v for k, v in event["headers"].items() if k != "stripe-signature"}
        event["headers"]["content-length"] = str(len(event["body"]))
        if signature is not None:
            event["headers"]["stripe-signature"] = signature
        response = self.handlers["payment_webhook"](event, FakeLambdaContext())
        return Answer(response["statusCode"], json.loads(response["body"] or "null"), response["headers"])

    def deliver(self, received: Received) -> Answer:
        """Feed one recorded delivery to the webhook function, as API Gateway would."""
        return self.webhook(received.body, received.signature)

    # -- operators ------------------------------------------------------------------------------------------

    def operator(self, function: str, path_parameters: dict[str, str], claims: dict[str, Any] | None = None) -> Answer:
        event = load_event(function)
        event["requestContext"]["requestId"] = str(uuid.uuid4())
        ((name, value),) = path_parameters.items()
        event["rawPath"] = event["requestContext"]["http"]["path"] = event["rawPath"].replace(
            event["pathParameters"][name], value
        )
        event["pathParameters"] = dict(path_parameters)
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims or OPERATOR, "scopes": None}}
        response = self.handlers[function](event, FakeLambdaContext())
        return Answer(response["statusCode"], json.loads(response["body"] or "null"), response["headers"])

    # -- then ------------------------------------------------------------------------------------------------

    def stored(self, checkout_id: str) -> Checkout:
        checkout = self.checkouts.get(checkout_id)
        assert checkout is not None
        return checkout

    def stock(self, sku: str) -> Stock:
        stock = self.ledger.get(sku)
        assert stock is not None
        return stock

    def order_status(self, order_id: str) -> OrderStatus:
        order = self.orders.get(order_id)
        assert order is not None
        return order.status

    def published(self) -> list[dict[str, Any]]:
        """Every domain event on the bus so far (through an SQS queue subscribed to it), oldest first, each
        checked against its schema (events/schemas/)."""
        sqs = boto3.client("sqs", region_name="us-east-1")
        found: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            found.extend(json.loads(m["Body"]) for m in messages)
            for event in found[-len(messages) :]:
                check_event(event)
            sqs.delete_message_batch(
                QueueUrl=self.events_queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        return found

    def refunds_of(self, intent_id: str) -> int:
        intent = self.stripe.v1.payment_intents.retrieve(intent_id)
        charge = self.stripe.v1.charges.retrieve(str(intent.latest_charge))
        return int(charge.amount_refunded)


@contextmanager
def payments_sandbox() -> Iterator[tuple[Served, WebhookReceiver]]:
    """A served sandbox with one webhook endpoint (the event types the webhook handles) that records deliveries."""
    with served_sandbox() as served, WebhookReceiver() as receiver:
        served.sandbox.add_webhook_endpoint(receiver.url, enabled_events=WEBHOOK_EVENTS)
        yield served, receiver


def payments_database(prefix: str) -> tuple[OrdersCloud, str]:
    cloud = orders_cloud()
    return cloud, cloud.migrated_database(prefix)


@contextmanager
def payments_world(
    sandbox: tuple[Served, WebhookReceiver], database: tuple[OrdersCloud, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Payments]:
    """moto (table, bus with a queue on it, secrets, Step Functions), the functions' environment, fresh handlers."""
    from moto import mock_aws

    served, receiver = sandbox
    cloud, name = database
    with mock_aws():
        table = "commerce-saga-test"
        create_table(boto3.client("dynamodb", region_name="us-east-1"), "CommerceTable", table)
        secretsmanager = boto3.client("secretsmanager", region_name="us-east-1")
        key_arn = secretsmanager.create_secret(Name="payments-api-key", SecretString=served.sandbox.secret_key)["ARN"]
        endpoint = served.sandbox.webhook_endpoints[0]
        webhook_arn = secretsmanager.create_secret(Name="payments-webhook", SecretString=endpoint.secret)["ARN"]
        events = boto3.client("events", region_name="us-east-1")
        events.create_event_bus(Name="commerce-test")
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName="commerce-test-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pattern = json.dumps({"source": ["commerce"]})
        events.put_rule(Name="everything", EventBusName="commerce-test", EventPattern=pattern)
        events.put_targets(Rule="everything", EventBusName="commerce-test", Targets=[{"Id": "queue", "Arn": queue_arn}])
        env = {
            "AWS_REGION": "us-east-1",
            "TABLE_NAME": table,
            "SESSION_TTL_DAYS": "7",
            "ORDERS_DB_CLUSTER_ARN": CLUSTER_ARN,
            "ORDERS_DB_SECRET_ARN": SECRET_ARN,
            "ORDERS_DB_NAME": name,
            "AWS_ENDPOINT_URL_RDS_DATA": cloud.url,
            "PAYMENTS_API_URL": served.url,
            "PAYMENTS_API_KEY_SECRET_ARN": key_arn,
            "PAYMENTS_WEBHOOK_SECRET_ARN": webhook_arn,
            "EVENT_BUS_NAME": "commerce-test",
            "CHECKOUT_STATE_MACHINE_ARN": STATE_MACHINE_ARN,
        }
        for variable, value in env.items():
            monkeypatch.setenv(variable, value)
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        for cached in (
            load_settings,
            dynamodb_client,
            rds_data_client,
            secretsmanager_client,
            events_client,
            stepfunctions_client,
        ):
            cached.cache_clear()
        secrets_cache.forget(key_arn)
        secrets_cache.forget(webhook_arn)
        world = Payments(table, name, cloud, served, receiver, queue_url)
        world.handlers = {function: load_handler(function, fresh=True) for function in FUNCTIONS}
        yield world
