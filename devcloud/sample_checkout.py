"""The queued checkout the checkout samples in events/ name (`get_checkout`, `cancel_checkout`, `admit_checkouts`).

It is placed the way `POST /checkouts` places one, with the checkout store and stock ledger adapters: its
units reserved under its id, then the record written with its cart's open-checkout lock. It was placed by
the demo customer signed in on the samples' session, so it holds the customer's cart, not the guest cart
the cart samples fill (`POST /checkouts` from that cart is never refused as "in progress" because of it).

Seeded once per state directory: once cancelled (by the sample, say) it stays cancelled until `--reset`.
Nothing queues it: the `admit_checkouts` sample is what delivers its message.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.domain.checkout.models import Checkout, CheckoutStatus
from commerce.domain.checkout.service import buyer_of
from commerce.domain.inventory.models import ReservationLine
from commerce.domain.inventory.service import reserve_stock
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderLine, OrderOwner, ShippingAddress
from devcloud.demo_data import CURRENCY, DEMO_CATALOG, SAMPLE_SESSION_TOKEN
from localcloud.context import CloudContext

SAMPLE_CHECKOUT_ID = "5b0f6a3e-2d1c-5e4f-8a9b-0c1d2e3f4a5b"
SAMPLE_ORDER_ID = str(uuid.uuid5(uuid.UUID(SAMPLE_CHECKOUT_ID), "order"))
DEMO_CUSTOMER_ID = "c0ffee00-0000-4000-8000-000000000001"  # the demo customer the sample checkout belongs to
SAMPLE_SKU = "TSHIRT-RED-M"
# A demo's checkout should still be open when someone tries the samples later in the day.
RESERVATION_HOURS = 24


def seed_sample_checkout(dynamodb_client: Any, table_name: str, *, now: datetime | None = None) -> bool:
    """Place the sample checkout unless it exists; True when it was placed now."""
    checkouts = DynamoDbCheckouts(table_name, client=dynamodb_client)
    if checkouts.get(SAMPLE_CHECKOUT_ID) is not None:
        return False
    moment = now or datetime.now(UTC)
    owner = OrderOwner(session_id=SAMPLE_SESSION_TOKEN.partition(".")[0], customer_id=DEMO_CUSTOMER_ID)
    product, variant = next((p, v) for p in DEMO_CATALOG for v in p.variants if v.sku == SAMPLE_SKU)
    line = OrderLine(
        SAMPLE_SKU, product.product_id, f"{product.name} ({variant.name})", 1, Money(variant.price_cents, CURRENCY)
    )
    reservation = reserve_stock(
        DynamoDbStockLedger(table_name, client=dynamodb_client),
        SAMPLE_CHECKOUT_ID,
        [ReservationLine(line.sku, line.quantity)],
        expires_at=moment + timedelta(hours=RESERVATION_HOURS),
        buyer=buyer_of(owner),
    )
    checkouts.create(
        Checkout(
            checkout_id=SAMPLE_CHECKOUT_ID,
            order_id=SAMPLE_ORDER_ID,
            owner=owner,
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


class SampleCheckout:
    """Glue after `DemoData` (the SKU and the session must be there): places the sample checkout, if seeding."""

    def __init__(self, *, seed: bool = True) -> None:
        self._seed = seed

    def start(self, cloud: CloudContext) -> None:
        table = cloud.app.outputs.get("CommerceTableName")
        if self._seed and table:
            seed_sample_checkout(cloud.client("dynamodb"), table)

    def stop(self) -> None:
        pass  # the checkout stays, as the rest of the demo data does
