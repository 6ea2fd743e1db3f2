"""Orders as the HTTP contract shows them (shared/API.md, openapi.yaml `Order`).

Storefront callers see their order's history without the actor (operator ids are internal); operators
see who did what.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from commerce.domain.clock import rfc3339
from commerce.domain.orders.models import Fulfilment, Order, OrderEvent, OrderLine


class Audience(Enum):
    CUSTOMER = "customer"
    OPERATOR = "operator"


def order_json(order: Order, audience: Audience) -> dict[str, Any]:
    return {
        "orderId": order.order_id,
        "status": order.status.value,
        "email": order.email,
        "lines": [line_json(line) for line in order.lines],
        "subtotal": order.subtotal.to_json(),
        "total": order.total.to_json(),
        "shippingAddress": order.shipping_address.to_json(),
        "createdAt": rfc3339(order.created_at),
        "updatedAt": rfc3339(order.updated_at),
        "fulfillments": [fulfilment_json(fulfilment) for fulfilment in order.fulfilments],
        "events": [event_json(event, audience) for event in order.events],
    }


def fulfilment_json(fulfilment: Fulfilment) -> dict[str, Any]:
    return {
        "fulfillmentId": fulfilment.fulfilment_id,
        "lines": [line.to_json() for line in fulfilment.lines],
        "carrier": fulfilment.carrier,
        "trackingNumber": fulfilment.tracking_number,
        "createdAt": rfc3339(fulfilment.at) if fulfilment.at else None,
    }


def line_json(line: OrderLine) -> dict[str, Any]:
    return {
        "sku": line.sku,
        "productId": line.product_id,
        "name": line.name,
        "quantity": line.quantity,
        "unitPrice": line.unit_price.to_json(),
        "lineTotal": line.line_total.to_json(),
    }


def event_json(event: OrderEvent, audience: Audience) -> dict[str, Any]:
    detail: dict[str, Any] = dict(event.detail)
    if event.from_status is not None:
        detail["fromStatus"] = event.from_status.value
    if event.to_status is not None:
        detail["toStatus"] = event.to_status.value
    if audience is Audience.OPERATOR:
        detail["actor"] = event.actor
    return {"type": event.type, "at": rfc3339(event.at), "detail": detail}
