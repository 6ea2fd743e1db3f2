"""Orders, their lines and events, and the filters and positions of order listings, as plain values."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from commerce.domain.clock import utc_now
from commerce.domain.errors import FieldProblem, ValidationFailed
from commerce.domain.money import Money


class OrderStatus(StrEnum):
    """Where an order is in its life (shared/API.md). CANCELLED, REFUNDED and REFUND_FAILED are final: no
    operator action leaves them.

    PARTIALLY_FULFILLED: some of its units have shipped (a fulfilment of some lines), not all.
    REFUND_PENDING: a refund or cancel was decided and the provider's answer is not recorded yet.
    REFUND_FAILED: the provider refused the refund, or reported later that it failed (the order's history
    holds its reason); the money did not go back, and an operator settles it with the customer. Only this
    report of the provider moves a REFUNDED or CANCELLED order on.
    """

    PENDING_PAYMENT = "PENDING_PAYMENT"
    PAID = "PAID"
    PARTIALLY_FULFILLED = "PARTIALLY_FULFILLED"
    FULFILLED = "FULFILLED"
    REFUND_PENDING = "REFUND_PENDING"
    CANCELLED = "CANCELLED"
    REFUNDED = "REFUNDED"
    REFUND_FAILED = "REFUND_FAILED"


class OrderAction(StrEnum):
    """What can happen to an order; `lifecycle.TRANSITIONS` says from which status to which."""

    PAY = "pay"
    FULFILL = "fulfill"  # a fulfilment that ships every unit left
    FULFILL_PART = "fulfill-part"  # a fulfilment that leaves units to ship
    CANCEL = "cancel"
    REFUND = "refund"
    REQUEST_REFUND = "request-refund"  # the first half of a refund or of cancelling a paid order
    FAIL_REFUND = "fail-refund"  # the provider refused the refund or reported it failed: the money did not go back


# Event types of the history. The creation is not an action: it enters PENDING_PAYMENT from nothing.
ORDER_CREATED = "OrderCreated"
EVENT_TYPES: Mapping[OrderAction, str] = MappingProxyType(
    {
        OrderAction.PAY: "PaymentSucceeded",
        OrderAction.FULFILL: "OrderFulfilled",
        OrderAction.FULFILL_PART: "OrderPartiallyFulfilled",
        OrderAction.CANCEL: "OrderCancelled",
        OrderAction.REFUND: "OrderRefunded",
        OrderAction.REQUEST_REFUND: "RefundRequested",
        OrderAction.FAIL_REFUND: "RefundFailed",
    }
)

FULFILMENT_EVENTS = frozenset({EVENT_TYPES[OrderAction.FULFILL], EVENT_TYPES[OrderAction.FULFILL_PART]})

MAX_LINES = 100
MAX_ID_LENGTH = 128
MAX_EMAIL_LENGTH = 254
MAX_CARRIER_LENGTH = 100
MAX_TRACKING_NUMBER_LENGTH = 100


def order_clock() -> datetime:
    """Now, in UTC, to the millisecond: the precision the API shows and the orders database stores."""
    now = utc_now()
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


def canonical_order_id(value: str) -> str | None:
    """The canonical (lower-case, hyphenated) form of a UUID order id, or None when `value` is not one."""
    if not 32 <= len(value) <= 36:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def new_order_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class OrderOwner:
    """Who an order belongs to: a guest session, a customer, or both (a session bound to a customer)."""

    session_id: str | None = None
    customer_id: str | None = None

    def __post_init__(self) -> None:
        if self.session_id is None and self.customer_id is None:
            raise ValueError("an order owner needs a session id or a customer id")

    def owns(self, order: Order) -> bool:
        return (self.customer_id is not None and order.owner.customer_id == self.customer_id) or (
            self.session_id is not None and order.owner.session_id == self.session_id
        )


@dataclass(frozen=True)
class ShippingAddress:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str  # ISO 3166-1 alpha-2
    line2: str | None = None

    def to_json(self) -> dict[str, str]:
        body = {"name": self.name, "line1": self.line1}
        if self.line2 is not None:
            body["line2"] = self.line2
        body.update({"city": self.city, "postalCode": self.postal_code, "country": self.country})
        return body

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShippingAddress:
        line2 = data.get("line2")
        return cls(
            name=str(data["name"]),
            line1=str(data["line1"]),
            line2=None if line2 is None else str(line2),
            city=str(data["city"]),
            postal_code=str(data["postalCode"]),
            country=str(data["country"]),
        )


@dataclass(frozen=True)
class OrderLine:
    """One SKU bought, at the catalog price of the checkout."""

    sku: str
    product_id: str
    name: str
    quantity: int
    unit_price: Money

    @property
    def line_total(self) -> Money:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class FulfilmentLine:
    sku: str
    quantity: int

    def to_json(self) -> dict[str, Any]:
        return {"sku": self.sku, "quantity": self.quantity}


@dataclass(frozen=True)
class Fulfilment:
    """A shipment of some of an order's units: recorded as the detail of its OrderPartiallyFulfilled or
    OrderFulfilled event (the database checks the units against the order's lines)."""

    fulfilment_id: str
    lines: tuple[FulfilmentLine, ...]
    carrier: str | None
    tracking_number: str | None
    at: datetime | None = None  # the event's time, once recorded

    def to_detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {"fulfillmentId": self.fulfilment_id, "lines": [line.to_json() for line in self.lines]}
        if self.carrier is not None:
            detail["carrier"] = self.carrier
        if self.tracking_number is not None:
            detail["trackingNumber"] = self.tracking_number
        return detail

    @classmethod
    def from_event(cls, event: OrderEvent, order_lines: tuple[OrderLine, ...]) -> Fulfilment:
        """The fulfilment an event records. An OrderFulfilled event from before fulfilments had lines
        shipped the whole order."""
        detail = event.detail
        lines = detail.get("lines")
        return cls(
            fulfilment_id=str(detail.get("fulfillmentId") or f"legacy-{event.at.isoformat()}"),
            lines=tuple(FulfilmentLine(str(line["sku"]), int(line["quantity"])) for line in lines)
            if isinstance(lines, list)
            else tuple(FulfilmentLine(line.sku, line.quantity) for line in order_lines),
            carrier=None if detail.get("carrier") is None else str(detail["carrier"]),
            tracking_number=None if detail.get("trackingNumber") is None else str(detail["trackingNumber"]),
            at=event.at,
        )


@dataclass(frozen=True)
class OrderEvent:
    """One entry of an order's history: what happened (`type`), when, who did it, and the status change.

    `from_status` is None only for the creation; both are None for an event that changes no status.
    """

    type: str
    at: datetime
    actor: str
    from_status: OrderStatus | None = None
    to_status: OrderStatus | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewOrder:
    """What the checkout hands over to create an order. Totals are derived here, never taken from a client."""

    order_id: str
    checkout_id: str
    owner: OrderOwner
    email: str
    lines: tuple[OrderLine, ...]
    shipping_address: ShippingAddress
    created_at: datetime
    actor: str = "checkout"

    @property
    def currency(self) -> str:
        return self.lines[0].unit_price.currency

    @property
    def subtotal(self) -> Money:
        total = Money.zero(self.currency)
        for line in self.lines:
            total = total + line.line_total
        return total

    @property
    def total(self) -> Money:
        # Equal to the subtotal until shipping and taxes exist (shared/API.md).
        return self.subtotal

    def creation_event(self) -> OrderEvent:
        return OrderEvent(
            type=ORDER_CREATED,
            at=self.created_at,
            actor=self.actor,
            from_status=None,
            to_status=OrderStatus.PENDING_PAYMENT,
            detail={"checkoutId": self.checkout_id},
        )

    def as_order(self) -> Order:
        return Order(
            order_id=self.order_id,
            checkout_id=self.checkout_id,
            owner=self.owner,
            email=self.email,
            status=OrderStatus.PENDING_PAYMENT,
            lines=self.lines,
            subtotal=self.subtotal,
            total=self.total,
            shipping_address=self.shipping_address,
            created_at=self.created_at,
            updated_at=self.created_at,
            events=(self.creation_event(),),
        )


@dataclass(frozen=True)
class Order:
    order_id: str
    checkout_id: str
    owner: OrderOwner
    email: str
    status: OrderStatus
    lines: tuple[OrderLine, ...]
    subtotal: Money
    total: Money
    shipping_address: ShippingAddress
    created_at: datetime
    updated_at: datetime
    events: tuple[OrderEvent, ...]  # oldest first

    @property
    def position(self) -> OrderPosition:
        return OrderPosition(created_at=self.created_at, order_id=self.order_id)

    def after(self, event: OrderEvent) -> Order:
        """This order once `event` (a status change recorded atomically with it) has happened."""
        status = event.to_status if event.to_status is not None else self.status
        return replace(
            self,
            status=status,
            updated_at=max(self.updated_at, event.at),
            events=(*self.events, event),
        )

    def has_event(self, event_type: str) -> bool:
        return any(event.type == event_type for event in self.events)

    @property
    def fulfilments(self) -> tuple[Fulfilment, ...]:
        return tuple(
            Fulfilment.from_event(event, self.lines) for event in self.events if event.type in FULFILMENT_EVENTS
        )

    def unfulfilled(self) -> dict[str, int]:
        """Units of each SKU not shipped yet (SKUs fully shipped are left out)."""
        left = {line.sku: line.quantity for line in self.lines}
        for fulfilment in self.fulfilments:
            for line in fulfilment.lines:
                left[line.sku] = left.get(line.sku, 0) - line.quantity
        return {sku: units for sku, units in left.items() if units > 0}


@dataclass(frozen=True)
class OrderPosition:
    """A place in a listing ordered newest first: (created_at, order_id), both descending."""

    created_at: datetime
    order_id: str

    def sort_key(self) -> tuple[datetime, str]:
        return (self.created_at, self.order_id)

    def to_fields(self) -> dict[str, str]:
        return {"t": self.created_at.astimezone(UTC).isoformat(), "id": self.order_id}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str] | None) -> OrderPosition | None:
        """The position a decoded cursor names, or ValidationFailed when the fields cannot be one."""
        if fields is None:
            return None
        if set(fields) != {"t", "id"} or canonical_order_id(fields["id"]) != fields["id"]:
            raise invalid_cursor()
        try:
            created_at = datetime.fromisoformat(fields["t"])
            in_utc = created_at.astimezone(UTC) if created_at.tzinfo is not None else None
        except (ValueError, OverflowError) as error:  # OverflowError: no such instant in UTC
            raise invalid_cursor() from error
        # Cursors name stored orders, which are kept in UTC to the millisecond; nothing else can be a position.
        if in_utc is None or in_utc.microsecond % 1000:
            raise invalid_cursor()
        return cls(created_at=in_utc, order_id=fields["id"])


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not valid for this listing",
        errors=[FieldProblem(field="cursor", code="INVALID_CURSOR", message="use a nextCursor from the same listing")],
    )


@dataclass(frozen=True)
class OrderFilters:
    """The operators' search: every field set narrows it. `created_to` is exclusive."""

    status: OrderStatus | None = None
    email: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True)
class OrderPage:
    orders: tuple[Order, ...]
    next_position: OrderPosition | None
