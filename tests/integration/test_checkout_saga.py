"""The checkout workflow's task functions, called as Step Functions calls them (events/ samples), against moto
(DynamoDB, EventBridge, Secrets Manager, Step Functions), the orders database through the local Data API and
the payments sandbox through the official `stripe` package.

The harness (`Payments`) is shared with the webhook and refund tests: it seeds stock and queued checkouts,
runs the real handlers, confirms payments the way a browser does, and replays the sandbox's signed webhook
deliveries into the webhook function.
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
from commerce.domain.checkout.models import Checkout, CheckoutStatus, FailureCode
from commerce.domain.checkout.saga import CheckoutCannotComplete
from commerce.domain.inventory.models import ReservationLine, ReservationStatus, Stock
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderLine, OrderOwner, OrderStatus, ShippingAddress
from commerce.domain.payments.errors import PaymentProviderUnavailable
from commerce.domain.payments.models import PaymentOutcome
from commerce.settings import load_settings
from localcloud.payments import FaultSpec
from tests.support.handlers import Handler, load_handler
from tests.support.lambda_events import FakeLambdaContext, load_event
from tests.support.orders_db import CLUSTER_ARN, SECRET_ARN, OrdersCloud, orders_cloud
from tests.support.payments import Received, Served, WebhookReceiver, served_sandbox, stripe_client, wait_until
from tests.support.template import create_table

pytestmark = pytest.mark.integration

FUNCTIONS = (
    "request_payment",
    "complete_checkout",
    "compensate_checkout",
    "payment_webhook",
    "refund_order",
    "cancel_order",
    "admin_get_checkout",
)
WEBHOOK_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled")
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
        """Every domain event on the bus so far (through an SQS queue subscribed to it), oldest first."""
        sqs = boto3.client("sqs", region_name="us-east-1")
        found: list[dict[str, Any]] = []
        while True:
            messages = sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            found.extend(json.loads(m["Body"]) for m in messages)
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
        pattern = json.dumps({"source": [{"prefix": "commerce."}]})
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


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[Served, WebhookReceiver]]:
    # One sandbox for the module: every test makes its own intents, so they cannot interfere.
    with payments_sandbox() as served:
        yield served


@pytest.fixture(scope="module")
def database() -> tuple[OrdersCloud, str]:
    return payments_database("saga")


@pytest.fixture
def payments(
    sandbox: tuple[Served, WebhookReceiver], database: tuple[OrdersCloud, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Payments]:
    with payments_world(sandbox, database, monkeypatch) as world:
        yield world


# ---------------------------------------------------------------------------------------------- RequestPayment


def test_requesting_the_payment_creates_the_order_and_intent_and_waits_for_it(payments: Payments) -> None:
    # Given a queued checkout of 2 cups
    sku = payments.sku()
    checkout = payments.checkout((sku, 2))
    # When the workflow's first step runs
    token = payments.request_payment(checkout.checkout_id)
    # Then the checkout awaits payment and shows the intent's client secret
    awaiting = payments.stored(checkout.checkout_id)
    assert awaiting.status is CheckoutStatus.AWAITING_PAYMENT
    assert awaiting.payment is not None
    assert awaiting.to_json()["payment"]["provider"] == "stripe"
    # And the intent at the provider is for the total, in the currency, tagged with the checkout and order
    intent = payments.stripe.v1.payment_intents.retrieve(awaiting.payment.intent_id)
    assert (intent.amount, intent.currency, intent.status) == (2400, "eur", "requires_payment_method")
    assert intent.metadata.to_dict() == {"checkout_id": checkout.checkout_id, "order_id": checkout.order_id}
    assert intent.client_secret == awaiting.payment.client_secret
    # And the order exists, unpaid; the task token waits against the intent; the stock is still reserved
    assert payments.order_status(checkout.order_id) is OrderStatus.PENDING_PAYMENT
    record = payments.records.get(awaiting.payment.intent_id)
    assert record is not None
    assert (record.task_token, record.checkout_id, record.outcome) == (token, checkout.checkout_id, None)
    assert (payments.stock(sku).on_hand, payments.stock(sku).reserved) == (10, 2)


def test_a_retried_request_makes_no_second_intent_or_order(payments: Payments) -> None:
    # Given a checkout whose payment was requested
    checkout = payments.checkout((payments.sku(), 1))
    payments.request_payment(checkout.checkout_id)
    first = payments.stored(checkout.checkout_id)
    # When Step Functions runs the step again with a new token
    token = payments.request_payment(checkout.checkout_id)
    # Then the checkout is unchanged, the token replaced, and the provider holds one intent for the checkout
    assert payments.stored(checkout.checkout_id) == first
    assert first.payment is not None
    record = payments.records.get(first.payment.intent_id)
    assert record is not None
    assert record.task_token == token
    created = payments.stripe.v1.events.list({"type": "payment_intent.created", "limit": 100})
    assert [e.data.object["id"] for e in created.data].count(first.payment.intent_id) == 1
    mine = [e for e in created.data if e.data.object["metadata"].to_dict().get("checkout_id") == checkout.checkout_id]
    assert len(mine) == 1


def test_a_provider_error_is_raised_by_its_name_for_the_state_machine_to_retry(payments: Payments) -> None:
    # Given a provider that answers 503 to the next intent creation
    checkout = payments.checkout((payments.sku(), 1))
    payments.served.sandbox.faults.add(FaultSpec(kind="error", status=503, count=1, path="/v1/payment_intents"))
    # When the step runs, Then it fails with PaymentProviderUnavailable (the name the ASL retries)
    with pytest.raises(PaymentProviderUnavailable):
        payments.request_payment(checkout.checkout_id)
    assert payments.stored(checkout.checkout_id).status is CheckoutStatus.PROCESSING
    # When Step Functions retries it, Then it succeeds
    payments.request_payment(checkout.checkout_id)
    assert payments.stored(checkout.checkout_id).status is CheckoutStatus.AWAITING_PAYMENT


# ---------------------------------------------------------------------------------------------- Complete


def test_a_confirmed_payment_completes_the_checkout(payments: Payments) -> None:
    # Given a checkout awaiting payment, whose buyer's cart still holds the cups plus a saucer added since
    cup, saucer = payments.sku(), payments.sku()
    session_id = f"sess-{uuid.uuid4().hex[:12]}"
    checkout = payments.checkout((cup, 2), session_id=session_id)
    payments.guest_cart(session_id, {cup: 2, saucer: 1})
    payments.request_payment(checkout.checkout_id)
    # When the customer pays and the webhook reports it
    assert payments.pay(checkout.checkout_id).status_code == 200
    intent_id = payments.stored(checkout.checkout_id).payment.intent_id  # type: ignore[union-attr]
    [delivery] = payments.deliveries(intent_id, 1)
    assert payments.deliver(delivery).status == 200
    # And the workflow completes
    result = payments.task("complete_checkout", checkoutId=checkout.checkout_id, payment={"intentId": intent_id})
    # Then the checkout is COMPLETED, the order PAID, the stock committed, the cart keeps only the saucer
    assert result == {"status": "COMPLETED"}
    assert payments.stored(checkout.checkout_id).status is CheckoutStatus.COMPLETED
    assert payments.order_status(checkout.order_id) is OrderStatus.PAID
    assert (payments.stock(cup).on_hand, payments.stock(cup).reserved) == (8, 0)
    assert payments.cart_lines(session_id) == {saucer: 1}
    # And OrderPlaced is on the bus, with what was bought
    [placed] = [e for e in payments.published() if e["detail-type"] == "OrderPlaced"]
    assert placed["source"] == "commerce.checkout"
    assert placed["detail"]["checkoutId"] == checkout.checkout_id
    assert placed["detail"]["lines"] == [{"sku": cup, "quantity": 2}]
    assert placed["detail"]["total"] == {"amount": 2400, "currency": "EUR"}


def test_completion_refuses_a_payment_nobody_confirmed(payments: Payments) -> None:
    # Given a checkout awaiting a payment that was never made
    checkout = payments.checkout((payments.sku(), 1))
    payments.request_payment(checkout.checkout_id)
    # When the completion step is called anyway, Then it fails without retry and the order stays unpaid
    with pytest.raises(CheckoutCannotComplete):
        payments.task("complete_checkout", checkoutId=checkout.checkout_id)
    assert payments.order_status(checkout.order_id) is OrderStatus.PENDING_PAYMENT


# ---------------------------------------------------------------------------------------------- Compensate


def test_a_declined_payment_is_compensated(payments: Payments) -> None:
    # Given a checkout awaiting payment, and a card that is declined
    sku = payments.sku()
    checkout = payments.checkout((sku, 3))
    payments.request_payment(checkout.checkout_id)
    assert payments.pay(checkout.checkout_id, "pm_card_chargeDeclined").status_code == 402
    intent_id = payments.stored(checkout.checkout_id).payment.intent_id  # type: ignore[union-attr]
    [failed] = payments.deliveries(intent_id, 1)
    assert payments.deliver(failed).status == 200
    assert payments.records.get(intent_id).outcome is PaymentOutcome.DECLINED  # type: ignore[union-attr]
    # When the workflow compensates the PaymentDeclined it caught
    result = payments.compensate(checkout.checkout_id, "PaymentDeclined", "Your card was declined.")
    # Then the checkout is FAILED for that reason, the stock free again, the order CANCELLED, the intent cancelled
    assert result == {"status": "FAILED", "fault": False}
    failed_checkout = payments.stored(checkout.checkout_id)
    assert failed_checkout.failure is not None
    assert failed_checkout.failure.code is FailureCode.PAYMENT_DECLINED
    assert (payments.stock(sku).on_hand, payments.stock(sku).reserved) == (10, 0)
    assert payments.ledger.get_reservation(checkout.checkout_id).status is ReservationStatus.RELEASED  # type: ignore[union-attr]
    assert payments.order_status(checkout.order_id) is OrderStatus.CANCELLED
    assert payments.stripe.v1.payment_intents.retrieve(intent_id).status == "canceled"
    # And PaymentFailed is on the bus
    assert [e["detail-type"] for e in payments.published()] == ["PaymentFailed"]


def test_an_expiry_while_the_payment_went_through_refunds_it_once(payments: Payments) -> None:
    # Given a checkout whose customer paid just as the wait timed out (the webhook is still on its way)
    sku = payments.sku()
    checkout = payments.checkout((sku, 1))
    payments.request_payment(checkout.checkout_id)
    payments.served.sandbox.webhooks.pause()
    try:
        assert payments.pay(checkout.checkout_id).status_code == 200
        intent_id = payments.stored(checkout.checkout_id).payment.intent_id  # type: ignore[union-attr]
        # When the timeout is compensated (twice: a retried step)
        first = payments.compensate(checkout.checkout_id, "States.Timeout")
        payments.compensate(checkout.checkout_id, "States.Timeout")
    finally:
        payments.served.sandbox.webhooks.resume()
    # Then the checkout is EXPIRED, the money refunded once, the stock free, the order CANCELLED
    assert first == {"status": "EXPIRED", "fault": False}
    assert payments.refunds_of(intent_id) == 1200
    assert payments.stock(sku).reserved == 0
    assert payments.order_status(checkout.order_id) is OrderStatus.CANCELLED
    # And the late success webhook, once delivered, refunds nothing more
    [succeeded] = payments.deliveries(intent_id, 1)
    assert payments.deliver(succeeded).status == 200
    assert payments.refunds_of(intent_id) == 1200
    types = [e["detail-type"] for e in payments.published()]
    assert "CheckoutExpired" in types
    assert "PaymentRefunded" in types
