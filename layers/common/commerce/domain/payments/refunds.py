"""Money back: refunding a paid order (operators' refund and cancel) and payments no checkout will use.

Every refund of one order goes to the provider with the same idempotency key (`refund-<orderId>`) and the
same parameters, so however many callers ask (an operator retrying, a late webhook, a compensation), the
customer gets their money back once.

An operator refund or cancel of an order that has not shipped (PAID) also puts its units back on the shelf
(on-hand stock). That happens at most once per payment (the payment record carries the marker, written in
the same transaction as the counters), after the order transition that decided it: the transition's event
says `restock: true`. Should the function stop between the two, the next call for that order (which
answers 409, the order being final by then) finishes the restock first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from commerce.domain.clock import Clock
from commerce.domain.inventory.models import ReservationLine
from commerce.domain.orders.errors import InvalidTransition, OrderChangedConcurrently
from commerce.domain.orders.models import EVENT_TYPES, Order, OrderAction, OrderStatus, order_clock
from commerce.domain.orders.ports import OrderRepository
from commerce.domain.orders.service import MAX_TRANSITION_ATTEMPTS, apply_action, cancel_unpaid_order, get_order
from commerce.domain.payments.models import PaymentRecord, Refund, refund_idempotency_key
from commerce.domain.payments.ports import Checkouts, DomainEvents, PaymentProvider, PaymentRecords

PAYMENT_REFUNDED = "PaymentRefunded"

# Which statuses each operator action may refund from; anything else is 409 INVALID_TRANSITION.
_REFUNDABLE: dict[OrderAction, frozenset[OrderStatus]] = {
    OrderAction.REFUND: frozenset({OrderStatus.PAID, OrderStatus.FULFILLED}),
    OrderAction.CANCEL: frozenset({OrderStatus.PAID}),
}
_MONEY_BACK_EVENTS = frozenset({EVENT_TYPES[OrderAction.REFUND], EVENT_TYPES[OrderAction.CANCEL]})


@dataclass(frozen=True)
class MoneyBack:
    """What refunding an order needs: the order, its checkout (which holds the payment), the provider and
    the payment records (refund and restock markers)."""

    orders: OrderRepository
    checkouts: Checkouts
    provider: Callable[[], PaymentProvider]  # created on first use: most cancels never reach the provider
    records: PaymentRecords
    clock: Clock = order_clock


def refund_order(deps: MoneyBack, order_id: str, actor: str) -> Order:
    """PAID or FULFILLED -> REFUNDED once the provider accepted the refund; a PAID order's stock goes back."""
    return _money_back(deps, order_id, OrderAction.REFUND, actor)


def cancel_order(deps: MoneyBack, order_id: str, actor: str) -> Order:
    """PENDING_PAYMENT -> CANCELLED (nothing to refund); PAID -> CANCELLED with the payment refunded and the
    stock returned. Decided on the status read, and decided again if the order moves meanwhile."""
    for _ in range(MAX_TRANSITION_ATTEMPTS):
        order = get_order(deps.orders, order_id)
        if order.status is not OrderStatus.PENDING_PAYMENT:
            return _money_back(deps, order.order_id, OrderAction.CANCEL, actor)
        try:
            return cancel_unpaid_order(deps.orders, order.order_id, actor, clock=deps.clock)
        except InvalidTransition:
            continue  # paid (or cancelled) between our read and our write
    raise OrderChangedConcurrently(order_id, MAX_TRANSITION_ATTEMPTS)


def _money_back(deps: MoneyBack, order_id: str, action: OrderAction, actor: str) -> Order:
    for _ in range(MAX_TRANSITION_ATTEMPTS):
        order = get_order(deps.orders, order_id)
        if order.status not in _REFUNDABLE[action]:
            finish_restock(deps.records, order)
            raise InvalidTransition(order.order_id, order.status, action)
        intent_id = _intent_of(deps, order, action)
        refund = deps.provider().refund(
            intent_id,
            {"checkout_id": order.checkout_id, "order_id": order.order_id},
            refund_idempotency_key(order.order_id),
        )
        restock = order.status is OrderStatus.PAID  # nothing has shipped: the units go back on the shelf
        detail = {**refund.to_json(), "amount": order.total.to_json(), "restock": restock}
        try:
            moved = apply_action(
                deps.orders,
                order.order_id,
                action,
                actor,
                detail=detail,
                clock=deps.clock,
                only_from=frozenset({order.status}),
            )
        except InvalidTransition:
            continue  # fulfilled, refunded or cancelled meanwhile: decide again on what is there now
        deps.records.record_refund(intent_id, order.checkout_id, order.order_id, refund)
        if restock:
            deps.records.restock(intent_id, order.checkout_id, order.order_id, order_lines(order))
        return moved
    raise OrderChangedConcurrently(order_id, MAX_TRANSITION_ATTEMPTS)


def finish_restock(records: PaymentRecords, order: Order) -> None:
    """Put back the stock a refund or cancel decided to put back, if an earlier attempt stopped before."""
    for event in order.events:
        intent_id = event.detail.get("intentId")
        if event.type in _MONEY_BACK_EVENTS and event.detail.get("restock") is True and isinstance(intent_id, str):
            records.restock(intent_id, order.checkout_id, order.order_id, order_lines(order))


def order_lines(order: Order) -> tuple[ReservationLine, ...]:
    return tuple(ReservationLine(sku=line.sku, quantity=line.quantity) for line in order.lines)


def _intent_of(deps: MoneyBack, order: Order, action: OrderAction) -> str:
    checkout = deps.checkouts.get(order.checkout_id)
    if checkout is None or checkout.payment is None:
        # A paid order always has its payment on its checkout; without one there is nothing to refund.
        raise InvalidTransition(
            order.order_id, order.status, action, "no payment is recorded for it, so it cannot be refunded"
        )
    return checkout.payment.intent_id


def refund_unused_payment(
    provider: PaymentProvider, records: PaymentRecords, events: DomainEvents, record: PaymentRecord, reason: str
) -> Refund | None:
    """Refund a payment its checkout will never use (it arrived after the checkout failed or expired, or
    after the workflow gave up on it). None when it was refunded before."""
    if record.refunded:
        return None
    refund = provider.refund(
        record.intent_id,
        {"checkout_id": record.checkout_id, "order_id": record.order_id},
        refund_idempotency_key(record.order_id),
    )
    records.record_refund(record.intent_id, record.checkout_id, record.order_id, refund)
    events.publish(
        PAYMENT_REFUNDED,
        {
            "checkoutId": record.checkout_id,
            "orderId": record.order_id,
            "intentId": record.intent_id,
            "refundId": refund.refund_id,
            "reason": reason,
        },
    )
    return refund
