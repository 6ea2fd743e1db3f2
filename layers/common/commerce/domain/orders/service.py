"""Order operations: the checkout creates orders and moves them; storefronts read their own; operators
search, read and cancel (fulfilments: commerce.domain.orders.fulfilments).

Every transition reads the order, decides the next status from the lifecycle table, and asks the
repository to write the new status *only if the status is still the one read*, together with its event.
Two racing transitions therefore cannot both win: the loser re-reads and decides again (usually: 409).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from commerce.domain.catalog.currencies import is_currency
from commerce.domain.clock import Clock
from commerce.domain.errors import FieldProblem, ValidationFailed
from commerce.domain.orders.errors import InvalidTransition, OrderChangedConcurrently, OrderNotFound
from commerce.domain.orders.lifecycle import next_status
from commerce.domain.orders.models import (
    EVENT_TYPES,
    FULFILMENT_EVENTS,
    MAX_EMAIL_LENGTH,
    MAX_ID_LENGTH,
    MAX_LINES,
    NewOrder,
    Order,
    OrderAction,
    OrderEvent,
    OrderFilters,
    OrderOwner,
    OrderPage,
    OrderPosition,
    OrderStatus,
    canonical_order_id,
    order_clock,
)
from commerce.domain.orders.ports import OrderRepository

MAX_TRANSITION_ATTEMPTS = 3
UNPAID = frozenset({OrderStatus.PENDING_PAYMENT})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


# ---------------------------------------------------------------------------------------------- creation


def create_order(repository: OrderRepository, order: NewOrder) -> Order:
    """Create the order of a checkout (PENDING_PAYMENT, with its OrderCreated event), or return the order
    that checkout already created: a retried create never makes a second order."""
    check_new_order(order)
    return repository.create(order)


def check_new_order(order: NewOrder) -> None:
    """ValidationFailed listing every problem of `order`; the database would refuse the same things."""
    problems: list[FieldProblem] = []

    def problem(where: str, message: str) -> None:
        problems.append(FieldProblem(field=where, code="INVALID", message=message))

    if canonical_order_id(order.order_id) != order.order_id:
        problem("orderId", "must be a lower-case UUID")
    if not 1 <= len(order.checkout_id) <= MAX_ID_LENGTH:
        problem("checkoutId", f"must be 1 to {MAX_ID_LENGTH} characters")
    for name, value in (("sessionId", order.owner.session_id), ("customerId", order.owner.customer_id)):
        if value is not None and not 1 <= len(value) <= MAX_ID_LENGTH:
            problem(name, f"must be 1 to {MAX_ID_LENGTH} characters")
    if len(order.email) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(order.email):
        problem("email", "must be an email address")
    if not 1 <= len(order.lines) <= MAX_LINES:
        problem("lines", f"must hold 1 to {MAX_LINES} lines")
    skus = [line.sku for line in order.lines]
    if len(set(skus)) != len(skus):
        problem("lines", "must hold each SKU once")
    currencies = {line.unit_price.currency for line in order.lines}
    if len(currencies) > 1:
        problem("lines", "must all be in one currency")
    for index, line in enumerate(order.lines):
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or line.quantity < 1:
            problem(f"lines[{index}].quantity", "must be an integer of at least 1")
        if line.unit_price.amount < 0 or not is_currency(line.unit_price.currency):
            problem(f"lines[{index}].unitPrice", "must be a non-negative amount in an ISO 4217 currency")
        if not line.sku or not line.product_id or not line.name.strip():
            problem(f"lines[{index}]", "needs a sku, a productId and a name")
    address = order.shipping_address
    for name, value in (
        ("name", address.name),
        ("line1", address.line1),
        ("city", address.city),
        ("postalCode", address.postal_code),
    ):
        if not value.strip():
            problem(f"shippingAddress.{name}", "must not be empty")
    if not _COUNTRY.fullmatch(address.country):
        problem("shippingAddress.country", "must be an ISO 3166-1 alpha-2 code")
    if order.created_at.tzinfo is None or order.created_at.microsecond % 1000:
        problem("createdAt", "must be timezone-aware, to the millisecond")
    if problems:
        raise ValidationFailed("The order is not valid", errors=problems)


# ---------------------------------------------------------------------------------------------- reading


def get_order(repository: OrderRepository, order_id: str) -> Order:
    """Any order (operators). A malformed id is simply not found: it names nothing."""
    canonical = canonical_order_id(order_id)
    order = repository.get(canonical) if canonical else None
    if order is None:
        raise OrderNotFound(order_id)
    return order


def get_own_order(repository: OrderRepository, owner: OrderOwner, order_id: str) -> Order:
    """The caller's order; someone else's answers exactly as a missing one does (404, never its data)."""
    order = get_order(repository, order_id)
    if not owner.owns(order):
        raise OrderNotFound(order_id)
    return order


def list_own_orders(
    repository: OrderRepository, owner: OrderOwner, limit: int, after: OrderPosition | None = None
) -> OrderPage:
    return repository.find(OrderFilters(), owner, limit, after)


def search_orders(
    repository: OrderRepository, filters: OrderFilters, limit: int, after: OrderPosition | None = None
) -> OrderPage:
    """Operators' search, newest first. Email matches case-insensitively; `created_to` is exclusive."""
    if filters.created_from and filters.created_to and filters.created_from >= filters.created_to:
        raise ValidationFailed(
            "createdFrom must be before createdTo",
            errors=[FieldProblem(field="createdFrom", code="INVALID_RANGE", message="must be before createdTo")],
        )
    return repository.find(filters, None, limit, after)


# ---------------------------------------------------------------------------------------------- transitions


def cancel_unpaid_order(repository: OrderRepository, order_id: str, actor: str, clock: Clock = order_clock) -> Order:
    """PENDING_PAYMENT -> CANCELLED (operators).

    The lifecycle also allows cancelling a PAID order, but that refunds the payment: it moves money and
    belongs to the checkout and payments flow, which is not served yet. Until it is, a PAID order answers
    409 INVALID_TRANSITION here, like every other status that cannot be cancelled, also when the payment
    lands between our read and our write (the retry re-checks).
    """
    return apply_action(
        repository,
        order_id,
        OrderAction.CANCEL,
        actor,
        clock=clock,
        only_from=UNPAID,
        refusal="cancelling a paid order refunds it; not supported yet",
    )


def mark_order_paid(
    repository: OrderRepository,
    order_id: str,
    detail: Mapping[str, Any],
    actor: str = "payments",
    clock: Clock = order_clock,
) -> Order:
    """PENDING_PAYMENT -> PAID once the provider confirmed the payment. Idempotent: a repeated webhook
    finds the PaymentSucceeded event and gets the order back unchanged."""
    return apply_action(repository, order_id, OrderAction.PAY, actor, detail=detail, clock=clock, idempotent=True)


def cancel_failed_order(
    repository: OrderRepository, order_id: str, reason: str, actor: str = "checkout", clock: Clock = order_clock
) -> Order:
    """PENDING_PAYMENT -> CANCELLED when the checkout failed or expired (compensation). Idempotent.

    A paid order is refused (409): its payment must be refunded first, and that is the caller's decision.
    """
    return apply_action(
        repository,
        order_id,
        OrderAction.CANCEL,
        actor,
        detail={"reason": reason},
        clock=clock,
        idempotent=True,
        only_from=UNPAID,
        refusal="the order is paid; refund it instead",
    )


def record_refund(
    repository: OrderRepository, order_id: str, detail: Mapping[str, Any], actor: str, clock: Clock = order_clock
) -> Order:
    """PAID or FULFILLED -> REFUNDED once the payment provider has accepted the refund. Idempotent."""
    return apply_action(repository, order_id, OrderAction.REFUND, actor, detail=detail, clock=clock, idempotent=True)


def apply_action(
    repository: OrderRepository,
    order_id: str,
    action: OrderAction,
    actor: str,
    *,
    detail: Mapping[str, Any] | None = None,
    clock: Clock = order_clock,
    idempotent: bool = False,
    only_from: frozenset[OrderStatus] | None = None,
    refusal: str | None = None,
) -> Order:
    """Move the order by `action` and record who did it, when and why, in the same write.

    InvalidTransition (409) when the lifecycle does not allow `action` from the order's status. With
    `idempotent`, an order that already went through `action` is returned unchanged instead (for system
    callers that may repeat themselves: webhooks, retried workflow steps). `only_from` narrows the statuses
    this caller may act from (InvalidTransition with `refusal` otherwise), re-checked on every attempt.
    Shipping is not an action here: a fulfilment carries its lines (`fulfilments.fulfil`).
    """
    event_type = EVENT_TYPES[action]
    if event_type in FULFILMENT_EVENTS:
        raise ValueError(f"{action.value} records a fulfilment's lines: use fulfilments.fulfil")
    order = get_order(repository, order_id)
    for _ in range(MAX_TRANSITION_ATTEMPTS):
        if idempotent and order.has_event(event_type):
            return order
        if only_from is not None and order.status not in only_from:
            raise InvalidTransition(order.order_id, order.status, action, refusal)
        target = next_status(order.order_id, order.status, action)
        event = OrderEvent(
            type=event_type,
            at=clock(),
            actor=actor,
            from_status=order.status,
            to_status=target,
            detail=dict(detail or {}),
        )
        if repository.transition(order.order_id, order.status, event):
            return order.after(event)
        # Another change won between our read and our write: decide again on what is there now.
        order = get_order(repository, order.order_id)
    raise OrderChangedConcurrently(order_id, MAX_TRANSITION_ATTEMPTS)
