"""The checkouts the checkout and order samples in events/ name, each left where its samples pick it up.

- `5b0f6a3e-...` (`get_checkout`, `cancel_checkout`, `admit_checkouts`): QUEUED, as `POST /checkouts` leaves
  one. Nothing queues it: the `admit_checkouts` sample is what delivers its message.
- `0b7c9a4e-...` with order `3f6c2a9e-...` (`admin_get_checkout`, `request_payment`, `complete_checkout`,
  `get_order`, `admin_get_order`, `create_fulfillment`, `fulfill_order`, `refund_order`): AWAITING_PAYMENT
  and paid, the moment between the payment webhook and the workflow's Complete step: its RequestPayment step
  ran (the order PENDING_PAYMENT in the orders database, the payment intent at the payments sandbox), the
  customer paid at the sandbox (`pm_card_visa`) and the sandbox's signed webhook, delivered to the stack's
  webhook route, decided the payment SUCCEEDED. The `complete_checkout` sample then makes the order PAID, so the order
  samples can ship one of its two units, then the other, and refund it.
- `9d4e1f7a-...` with order `6a2e8c4f-...` (`cancel_order`): the same, completed (its order PAID): the
  lifecycle lets one order be fulfilled and refunded, or cancelled, not both, so the cancel sample has its own.

Placing (the units reserved under the checkout's id, then the record written with its cart's open-checkout
lock) goes through the checkout store and stock ledger adapters as `POST /checkouts` does (CheckoutDesk's
steps 5 and 6), because the samples name the checkout and order ids: the API derives a checkout id from the
session and the Idempotency-Key (a hash no fixed key could make equal to a sample's) and draws the order id
at random. Everything after placing is the product's own path: the stack's RequestPayment and Complete
functions are invoked with the events the state machine gives them (`events/request_payment.json`'s task
token, which no execution waits on: no workflow times the demo checkouts out, the samples drive them), the
payment is confirmed at the sandbox as a browser would, and the webhook is the sandbox's own delivery. The
intent id is the sandbox's (random, as Stripe's), so the `payment_webhook` sample, whose intent is a fixed
one, names no payment of the demo data and is acknowledged as an intent that is not ours.

The checkouts belong to the samples' guest session (so `get_order` finds its order), each with a demo
customer of its own: a customer's checkout locks the customer's cart, not the guest cart the cart samples
fill, so `POST /checkouts` from that cart is never refused as "in progress" because of them. Their
reservations hold for a day: the upkeep leaves a checkout alone until its reservation has expired.

Placed at every start: the local DynamoDB and the payments sandbox start empty each time, but the orders
database is kept across restarts (`.localcloud/postgres`). RequestPayment finds the order a previous run
created and goes on with it, so a restart before the samples moved the orders seeds them again as before. An
order the samples moved on (fulfilled, refunded, cancelled) cannot be taken back to where its samples start:
that checkout is left out, and the banner says so (`make run ARGS=--reset` wipes the orders database, and the
next start seeds them all afresh). A seeding step that fails is reported in the banner the same way, not
fatal: the rest of the local cloud is still worth running.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.payments import DynamoDbPaymentRecords
from commerce.adapters.orders_db.data_api import DataApi
from commerce.adapters.orders_db.orders import DataApiOrderRepository
from commerce.domain.checkout.models import Checkout, CheckoutStatus
from commerce.domain.checkout.service import buyer_of
from commerce.domain.inventory.models import ReservationLine
from commerce.domain.inventory.service import reserve_stock
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderLine, OrderOwner, OrderStatus, ShippingAddress
from commerce.domain.payments.models import PaymentOutcome
from devcloud.demo_data import CURRENCY, DEMO_CATALOG, SAMPLE_SESSION_TOKEN
from localcloud.context import CloudContext
from localcloud.lambda_service.runtime import InvokeError
from localcloud.payments.component import PaymentsService

# A demo's checkout should still be open when someone tries the samples later in the day.
RESERVATION_HOURS = 24
# The task token of events/request_payment.json: what the seeding's RequestPayment step stores.
SAMPLE_TASK_TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAdS2Lm3uJ0sTexampleTaskTokenOfTheRequestPaymentState=="  # noqa: S105
REQUEST_PAYMENT_FUNCTION = "RequestPaymentFunction"
COMPLETE_CHECKOUT_FUNCTION = "CompleteCheckoutFunction"
TEST_PAYMENT_METHOD = "pm_card_visa"
WEBHOOK_WAIT_SECONDS = 30.0  # the sandbox delivers its webhook within a second or so; a bound, not a figure


@dataclass(frozen=True)
class SampleCheckout:
    """A checkout the samples name, and how far the seeding takes it."""

    checkout_id: str
    order_id: str
    customer_id: str  # the demo customer it belongs to (with the samples' guest session)
    sku: str
    quantity: int
    paid: bool = False  # RequestPayment run and the payment confirmed (else QUEUED)
    completed: bool = False  # the Complete step run too: the order PAID

    @property
    def order_statuses(self) -> frozenset[OrderStatus]:
        """The statuses of a kept order (from a previous run) the seeding can go on from."""
        if self.completed:
            return frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.PAID})
        return frozenset({OrderStatus.PENDING_PAYMENT})

    @property
    def owner(self) -> OrderOwner:
        return OrderOwner(session_id=SAMPLE_SESSION_TOKEN.partition(".")[0], customer_id=self.customer_id)


QUEUED_CHECKOUT = SampleCheckout(
    "5b0f6a3e-2d1c-5e4f-8a9b-0c1d2e3f4a5b",
    str(uuid.uuid5(uuid.UUID("5b0f6a3e-2d1c-5e4f-8a9b-0c1d2e3f4a5b"), "order")),
    "c0ffee00-0000-4000-8000-000000000001",
    "TSHIRT-RED-M",
    1,
)
PAYING_CHECKOUT = SampleCheckout(
    "0b7c9a4e-5d2f-5e1a-9c3b-7f6e5d4c3b2a",
    "3f6c2a9e-7b1d-4c5e-9a8f-1e2d3c4b5a69",
    "c0ffee00-0000-4000-8000-000000000002",
    "TSHIRT-RED-M",
    2,
    paid=True,
)
PAID_CHECKOUT = SampleCheckout(
    "9d4e1f7a-3b6c-5d2e-8f0a-1c2b3d4e5f60",
    "6a2e8c4f-1d3b-4e5a-9c7f-2b1d0e3c4a58",
    "c0ffee00-0000-4000-8000-000000000003",
    "TOWEL-SET-3",
    1,
    paid=True,
    completed=True,
)
SAMPLE_CHECKOUTS = (QUEUED_CHECKOUT, PAYING_CHECKOUT, PAID_CHECKOUT)

# Kept for the readers of the queued one's names.
SAMPLE_CHECKOUT_ID = QUEUED_CHECKOUT.checkout_id
SAMPLE_ORDER_ID = QUEUED_CHECKOUT.order_id
DEMO_CUSTOMER_ID = QUEUED_CHECKOUT.customer_id
SAMPLE_SKU = QUEUED_CHECKOUT.sku


class SeedingFailed(RuntimeError):
    """A sample checkout could not be taken where its samples pick it up."""


def place_sample_checkout(
    dynamodb_client: Any, table_name: str, sample: SampleCheckout = QUEUED_CHECKOUT, *, now: datetime | None = None
) -> bool:
    """Place the sample checkout (QUEUED) unless it exists; True when it was placed now."""
    checkouts = DynamoDbCheckouts(table_name, client=dynamodb_client)
    if checkouts.get(sample.checkout_id) is not None:
        return False
    moment = now or datetime.now(UTC)
    product, variant = next((p, v) for p in DEMO_CATALOG for v in p.variants if v.sku == sample.sku)
    line = OrderLine(
        sample.sku,
        product.product_id,
        f"{product.name} ({variant.name})",
        sample.quantity,
        Money(variant.price_cents, CURRENCY),
    )
    reservation = reserve_stock(
        DynamoDbStockLedger(table_name, client=dynamodb_client),
        sample.checkout_id,
        [ReservationLine(line.sku, line.quantity)],
        expires_at=moment + timedelta(hours=RESERVATION_HOURS),
        buyer=buyer_of(sample.owner),
    )
    checkouts.create(
        Checkout(
            checkout_id=sample.checkout_id,
            order_id=sample.order_id,
            owner=sample.owner,
            status=CheckoutStatus.QUEUED,
            email="ada@example.com",
            shipping_address=ShippingAddress("Ada Lovelace", "12 Analytical St", "London", "N1 9GU", "GB"),
            lines=(line,),
            total=line.line_total,
            reservation_expires_at=reservation.expires_at,
            created_at=moment,
            updated_at=moment,
        )
    )
    return True


def seed_sample_checkout(dynamodb_client: Any, table_name: str, *, now: datetime | None = None) -> bool:
    """Place the queued sample checkout unless it exists; True when it was placed now."""
    return place_sample_checkout(dynamodb_client, table_name, QUEUED_CHECKOUT, now=now)


def take_to_payment(cloud: CloudContext, table_name: str, sample: SampleCheckout) -> None:
    """A QUEUED sample checkout through RequestPayment, paid at the sandbox, its webhook handled, and (if the
    sample says so) through Complete: each by the stack's own functions."""
    dynamodb = cloud.client("dynamodb")
    checkouts = DynamoDbCheckouts(table_name, client=dynamodb)
    cloud.invoke(REQUEST_PAYMENT_FUNCTION, {"checkoutId": sample.checkout_id, "taskToken": SAMPLE_TASK_TOKEN})
    checkout = checkouts.get(sample.checkout_id)
    if checkout is None or checkout.payment is None:
        raise SeedingFailed(f"checkout {sample.checkout_id} has no payment after RequestPayment")
    payment = checkout.payment
    confirmed = requests.post(
        f"{cloud.component(PaymentsService).url}/v1/payment_intents/{payment.intent_id}/confirm",
        data={"payment_method": TEST_PAYMENT_METHOD, "client_secret": payment.client_secret},
        timeout=30,
    )
    if confirmed.status_code != 200:
        raise SeedingFailed(f"the sandbox refused to confirm {payment.intent_id}: {confirmed.text}")
    records = DynamoDbPaymentRecords(table_name, client=dynamodb)
    deadline = time.monotonic() + WEBHOOK_WAIT_SECONDS
    while (record := records.get(payment.intent_id)) is None or record.outcome is not PaymentOutcome.SUCCEEDED:
        if time.monotonic() > deadline:
            raise SeedingFailed(f"the payment webhook of {payment.intent_id} was not handled in time")
        time.sleep(0.1)
    if sample.completed:
        cloud.invoke(
            COMPLETE_CHECKOUT_FUNCTION,
            {"checkoutId": sample.checkout_id, "payment": {"intentId": payment.intent_id}},
        )


class SampleCheckouts:
    """Glue after `DemoData` (the SKUs and the session must be there) and the webhook registration (the paid
    ones are paid through it): places the sample checkouts and takes them where their samples start, if seeding."""

    def __init__(self, *, seed: bool = True) -> None:
        self._seed = seed

    def start(self, cloud: CloudContext) -> None:
        table = cloud.app.outputs.get("CommerceTableName")
        if not (self._seed and table):
            return
        dynamodb = cloud.client("dynamodb")
        checkouts = DynamoDbCheckouts(table, client=dynamodb)
        orders = orders_of(cloud)
        for sample in SAMPLE_CHECKOUTS:
            if sample.paid:
                kept = orders.get(sample.order_id) if orders else None
                if kept is not None and kept.status not in sample.order_statuses:
                    cloud.notes.append(
                        f"Sample order   {sample.order_id} is {kept.status} from an earlier run: its samples "
                        "start again after `make run ARGS=--reset`"
                    )
                    continue
            place_sample_checkout(dynamodb, table, sample)
            placed = checkouts.get(sample.checkout_id)
            # Still QUEUED: placed now, or by a start that stopped before its payment (taken on from there).
            if sample.paid and placed is not None and placed.status is CheckoutStatus.QUEUED:
                try:
                    take_to_payment(cloud, table, sample)
                except (SeedingFailed, InvokeError) as error:
                    cloud.notes.append(f"Sample checkout {sample.checkout_id} was not seeded: {error}")

    def stop(self) -> None:
        pass  # the checkouts stay, as the rest of the demo data does


def orders_of(cloud: CloudContext) -> DataApiOrderRepository | None:
    """The stack's orders database, reached as its functions reach it (the RequestPayment function's variables)."""
    function = cloud.app.functions.get(REQUEST_PAYMENT_FUNCTION)
    environment = function.environment if function else {}
    cluster, secret, database = (
        str(environment.get(name) or "") for name in ("ORDERS_DB_CLUSTER_ARN", "ORDERS_DB_SECRET_ARN", "ORDERS_DB_NAME")
    )
    if not (cluster and secret and database):
        return None
    return DataApiOrderRepository(DataApi(cloud.client("rds-data"), cluster, secret, database))
