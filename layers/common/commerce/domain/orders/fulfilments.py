"""Fulfilments: an operator records that some of a paid order's units shipped, with a carrier and a tracking number.

A fulfilment is the status event that records it: `OrderPartiallyFulfilled` (PAID or PARTIALLY_FULFILLED ->
PARTIALLY_FULFILLED) while units are left to ship, `OrderFulfilled` (-> FULFILLED) for the one that ships the
last of them; its detail holds the fulfilment (`Fulfilment.to_detail`). So a fulfilment and the status it
leads to are one write, guarded by the status read (`OrderRepository.transition`), and the history is the
list of fulfilments.

Two fulfilments of one order racing: the database checks every fulfilment event against the order's lines
with the order row locked (db/migrations/0005_fulfilments.sql), so the second one sees the first. When the
first shipped units the second also counted on, or changed what is left, the database refuses the second,
the repository answers "changed meanwhile", and the second is decided again on what is there now: shipped if
the units are still left, 409 OVER_FULFILLED otherwise. No interleaving ships more than was bought.

An `Idempotency-Key` from the operator names the fulfilment (its id derives from the order and the key): a
repeated request finds its fulfilment recorded and answers it again instead of shipping twice (the same key
for other lines is 422 IDEMPOTENCY_KEY_REUSED).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

from commerce.domain.clock import Clock
from commerce.domain.errors import CommerceError, ErrorCode, FieldProblem, ValidationFailed
from commerce.domain.orders.errors import InvalidTransition, OrderChangedConcurrently, OverFulfilled
from commerce.domain.orders.lifecycle import next_status
from commerce.domain.orders.models import (
    EVENT_TYPES,
    MAX_CARRIER_LENGTH,
    MAX_LINES,
    MAX_TRACKING_NUMBER_LENGTH,
    Fulfilment,
    FulfilmentLine,
    Order,
    OrderAction,
    OrderEvent,
    OrderStatus,
    order_clock,
)
from commerce.domain.orders.ports import OrderRepository
from commerce.domain.orders.service import MAX_TRANSITION_ATTEMPTS, get_order

FULFILLABLE = frozenset({OrderStatus.PAID, OrderStatus.PARTIALLY_FULFILLED})
_FULFILMENT_IDS = uuid.UUID("5d6f1a52-8c1e-4f3a-9a57-1f0e6c2b7d40")  # namespace of ids derived from keys


def fulfil(
    repository: OrderRepository,
    order_id: str,
    lines: Sequence[FulfilmentLine],
    actor: str,
    *,
    carrier: str | None = None,
    tracking_number: str | None = None,
    idempotency_key: str | None = None,
    clock: Clock = order_clock,
) -> tuple[Order, Fulfilment]:
    """Ship `lines` of a PAID or PARTIALLY_FULFILLED order: the order after it, and the fulfilment recorded.

    ValidationFailed for malformed lines (nothing read), InvalidTransition for an order in another status,
    OverFulfilled when a line asks for more units than are left (or a SKU the order does not hold).
    """
    _check(lines, carrier, tracking_number)
    order = get_order(repository, order_id)
    fulfilment_id = _fulfilment_id(order.order_id, idempotency_key)
    for _ in range(MAX_TRANSITION_ATTEMPTS):
        done = next((f for f in order.fulfilments if f.fulfilment_id == fulfilment_id), None)
        if done is not None:
            if (done.lines, done.carrier, done.tracking_number) != (tuple(lines), carrier, tracking_number):
                raise CommerceError(
                    "This Idempotency-Key named a fulfilment of other lines; use a new key for a new fulfilment",
                    code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
                )
            return order, done  # this request was served before: the same answer, nothing shipped twice
        if order.status not in FULFILLABLE:
            raise InvalidTransition(order.order_id, order.status, OrderAction.FULFILL)
        left = order.unfulfilled()
        _check_left(order, lines, left)
        shipped = {line.sku: line.quantity for line in lines}
        ships_the_rest = all(shipped.get(sku, 0) == units for sku, units in left.items())
        action = OrderAction.FULFILL if ships_the_rest else OrderAction.FULFILL_PART
        fulfilment = Fulfilment(fulfilment_id, tuple(lines), carrier, tracking_number)
        event = OrderEvent(
            type=EVENT_TYPES[action],
            at=clock(),
            actor=actor,
            from_status=order.status,
            to_status=next_status(order.order_id, order.status, action),
            detail=fulfilment.to_detail(),
        )
        if repository.transition(order.order_id, order.status, event):
            return order.after(event), replace(fulfilment, at=event.at)
        order = get_order(repository, order.order_id)  # another change won: decide again on what is there now
    raise OrderChangedConcurrently(order_id, MAX_TRANSITION_ATTEMPTS)


def fulfill_order(repository: OrderRepository, order_id: str, actor: str, clock: Clock = order_clock) -> Order:
    """Ship every unit left (POST /admin/orders/{id}/fulfill): PAID or PARTIALLY_FULFILLED -> FULFILLED."""
    for _ in range(MAX_TRANSITION_ATTEMPTS):
        order = get_order(repository, order_id)
        left = order.unfulfilled()
        if order.status not in FULFILLABLE or not left:
            raise InvalidTransition(order.order_id, order.status, OrderAction.FULFILL)
        lines = [FulfilmentLine(sku, units) for sku, units in left.items()]
        try:
            return fulfil(repository, order.order_id, lines, actor, clock=clock)[0]
        except OverFulfilled:
            continue  # another fulfilment shipped some of these units meanwhile: ship what is left now
    raise OrderChangedConcurrently(order_id, MAX_TRANSITION_ATTEMPTS)


def _fulfilment_id(order_id: str, idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_FULFILMENT_IDS, f"{order_id}\n{idempotency_key}"))


def _check(lines: Sequence[FulfilmentLine], carrier: str | None, tracking_number: str | None) -> None:
    problems: list[FieldProblem] = []
    if not 1 <= len(lines) <= MAX_LINES:
        problems.append(FieldProblem("lines", "INVALID", f"must hold 1 to {MAX_LINES} lines"))
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if line.sku in seen:
            problems.append(FieldProblem(f"lines[{index}].sku", "DUPLICATE", "each SKU once per fulfilment"))
        seen.add(line.sku)
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or line.quantity < 1:
            problems.append(FieldProblem(f"lines[{index}].quantity", "INVALID", "must be an integer of at least 1"))
    for name, value, limit in (
        ("carrier", carrier, MAX_CARRIER_LENGTH),
        ("trackingNumber", tracking_number, MAX_TRACKING_NUMBER_LENGTH),
    ):
        if value is not None and not 1 <= len(value.strip()) <= limit:
            problems.append(FieldProblem(name, "INVALID", f"must be 1 to {limit} characters"))
    if problems:
        raise ValidationFailed("The fulfilment is not valid", errors=problems)


def _check_left(order: Order, lines: Sequence[FulfilmentLine], left: dict[str, int]) -> None:
    bought = {line.sku for line in order.lines}
    problems = [
        FieldProblem(f"lines[{index}].sku", "SKU_NOT_IN_ORDER", f"the order has no line for {line.sku}")
        if line.sku not in bought
        else FieldProblem(
            f"lines[{index}].quantity",
            "OVER_FULFILLED",
            f"{left.get(line.sku, 0)} units of {line.sku} are left to ship",
        )
        for index, line in enumerate(lines)
        if line.quantity > left.get(line.sku, 0)
    ]
    if problems:
        raise OverFulfilled(order.order_id, problems)
