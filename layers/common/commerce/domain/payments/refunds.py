"""Money back: refunding a paid order (operators' refund and cancel) and payments no checkout will use.

Every refund of one order goes to the provider with the same idempotency key (`refund-<orderId>`) and the
same parameters, so however many callers ask (an operator retrying, a late webhook, a compensation), the
customer gets their money back once.

An operator refund or cancel of a paid order moves the order first: PAID, PARTIALLY_FULFILLED (refund only)
or FULFILLED -> REFUND_PENDING,
guarded by the status in the database, with a `RefundRequested` event saying which action, which payment,
and whether the units go back. Only then is the provider asked, and its answer (the refund id) moves the
order on to REFUNDED or CANCELLED. So a fulfil racing a refund either wins before any money moves (the
refund then refunds a FULFILLED order, no restock) or loses at the database; and a refund is requested of
the provider only for an order that is REFUND_PENDING, which nothing but the provider's answer moves on.

Dying, or the provider being down, between the move and the answer leaves the order REFUND_PENDING: the
next refund or cancel of it, or `finish_pending_refunds` (upkeep, bounded), asks the provider again with
the same key and finishes it.

A provider that refuses the refund (RefundRejected: the charge is disputed, or cannot be refunded) moves the
order REFUND_PENDING -> REFUND_FAILED with a `RefundFailed` event holding its reason, for an operator to
settle; the caller gets the refusal (409 REFUND_REJECTED). A charge already refunded in full is a refund done
before: the order moves on as if this call had made it. A refund the provider accepted and that fails later
(its `refund.failed` / `charge.refund.updated` webhook) moves the order, REFUNDED or CANCELLED by then (or
still REFUND_PENDING, when the webhook overtook the answer), to REFUND_FAILED: `record_failed_refund`.

The units that have not shipped (all of a PAID order's, those no fulfilment took of a PARTIALLY_FULFILLED
one's) also go back on the shelf (on-hand stock). That happens
at most once per payment (the payment record carries the marker, written in the same transaction as the
counters), after the order transition that decided it: the transition's event says `restock: true`.
Should the function stop between the two, the next call for that order (which answers 409, the order
being final by then) finishes the restock first.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from commerce.domain.clock import Clock
from commerce.domain.events import PAYMENT_REFUNDED
from commerce.domain.inventory.models import ReservationLine
from commerce.domain.orders.errors import InvalidTransition, OrderChangedConcurrently
from commerce.domain.orders.models import (
    EVENT_TYPES,
    Order,
    OrderAction,
    OrderEvent,
    OrderFilters,
    OrderStatus,
    canonical_order_id,
    order_clock,
)
from commerce.domain.orders.ports import OrderRepository
from commerce.domain.orders.service import MAX_TRANSITION_ATTEMPTS, apply_action, cancel_unpaid_order, get_order
from commerce.domain.payments.errors import PaymentProviderUnavailable, RefundRejected
from commerce.domain.payments.models import PaymentEvent, PaymentRecord, Refund, refund_idempotency_key
from commerce.domain.payments.ports import Checkouts, DomainEvents, PaymentProvider, PaymentRecords

# The upkeep's repair kinds (GET /admin/upkeep, metric ReconciliationRepairs): pending refunds it finished, and
# those the provider refused, now REFUND_FAILED for an operator to settle.
REFUNDS_FINISHED = "refundsFinished"
REFUNDS_REJECTED = "refundsRejected"

# Which statuses each operator action may refund from; anything else is 409 INVALID_TRANSITION.
_REFUNDABLE: dict[OrderAction, frozenset[OrderStatus]] = {
    OrderAction.REFUND: frozenset({OrderStatus.PAID, OrderStatus.PARTIALLY_FULFILLED, OrderStatus.FULFILLED}),
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
    """PAID, PARTIALLY_FULFILLED or FULFILLED -> REFUNDED once the provider accepted the refund; the units that
    have not shipped go back on the shelf."""
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
        if order.status is OrderStatus.REFUND_PENDING:
            finished = _finish_pending(deps, order, actor)
            if _requested_action(order) is not action:
                # The money is going back for the other action (a refund asked during a cancel, or the
                # reverse): that one is finished, and this one cannot happen to the order it left.
                raise InvalidTransition(finished.order_id, finished.status, action)
            return finished
        if order.status not in _REFUNDABLE[action]:
            finish_restock(deps.records, order)
            raise InvalidTransition(order.order_id, order.status, action)
        intent_id = _intent_of(deps, order, action)
        restock = bool(unshipped_lines(order))  # units that have not shipped go back on the shelf
        requested = OrderEvent(
            type=EVENT_TYPES[OrderAction.REQUEST_REFUND],
            at=deps.clock(),
            actor=actor,
            from_status=order.status,
            to_status=OrderStatus.REFUND_PENDING,
            detail={"action": action.value, "intentId": intent_id, "amount": order.total.to_json(), "restock": restock},
        )
        # The order moves first, guarded by its status: a fulfil (or another refund) racing this one loses
        # here or wins here, before any money moves.
        if not deps.orders.transition(order.order_id, order.status, requested):
            continue  # fulfilled, refunded or cancelled meanwhile: decide again on what is there now
        return _finish_pending(deps, order.after(requested), actor)
    raise OrderChangedConcurrently(order_id, MAX_TRANSITION_ATTEMPTS)


def _finish_pending(deps: MoneyBack, order: Order, actor: str) -> Order:
    """REFUND_PENDING -> REFUNDED or CANCELLED (what was requested) once the provider accepted the refund,
    with the refund recorded and, when nothing had shipped, the stock put back. PaymentProviderUnavailable
    leaves the order REFUND_PENDING for a later call or the upkeep (same idempotency key: one refund)."""
    request = _pending_request(order)
    intent_id = str(request.detail["intentId"])
    try:
        refund = deps.provider().refund(
            intent_id,
            {"checkout_id": order.checkout_id, "order_id": order.order_id},
            refund_idempotency_key(order.order_id),
        )
    except RefundRejected as rejected:
        why = {"intentId": intent_id, "reason": rejected.reason, "message": rejected.detail, "stage": "refused"}
        # InvalidTransition: another caller recorded the provider's answer first; the refusal stands for this one.
        with suppress(InvalidTransition):
            apply_action(
                deps.orders,
                order.order_id,
                OrderAction.FAIL_REFUND,
                actor,
                detail=why,
                clock=deps.clock,
                only_from=frozenset({OrderStatus.REFUND_PENDING}),
            )
        raise
    restock = request.detail.get("restock") is True
    detail = {**refund.to_json(), "amount": request.detail.get("amount"), "restock": restock}
    action = _requested_action(order)
    try:
        moved = apply_action(
            deps.orders,
            order.order_id,
            action,
            actor,
            detail=detail,
            clock=deps.clock,
            only_from=frozenset({OrderStatus.REFUND_PENDING}),
        )
    except InvalidTransition:
        # Another caller (a retry, the upkeep) recorded the same refund first: theirs is the answer.
        moved = get_order(deps.orders, order.order_id)
    deps.records.record_refund(intent_id, order.checkout_id, order.order_id, refund)
    finish_restock(deps.records, moved)
    return moved


@dataclass(frozen=True)
class PendingRefunds:
    """What one upkeep run of `finish_pending_refunds` did."""

    finished: tuple[str, ...]  # order ids now REFUNDED or CANCELLED
    unavailable: tuple[str, ...]  # order ids left REFUND_PENDING: the provider could not answer; next run
    rejected: tuple[str, ...] = ()  # order ids now REFUND_FAILED: the provider refused; an operator settles them


def finish_pending_refunds(deps: MoneyBack, limit: int = 25, actor: str = "upkeep") -> PendingRefunds:
    """Finish up to `limit` orders left REFUND_PENDING (their function stopped between moving the order and
    recording the provider's answer, or the provider was down). Idempotent and safe beside operators'
    requests: every refund of an order carries the same idempotency key and every move is guarded."""
    finished: list[str] = []
    unavailable: list[str] = []
    rejected: list[str] = []
    page = deps.orders.find(OrderFilters(status=OrderStatus.REFUND_PENDING), None, limit, None)
    for order in page.orders:
        try:
            _finish_pending(deps, order, actor)
        except PaymentProviderUnavailable:
            unavailable.append(order.order_id)
            continue
        except RefundRejected:
            rejected.append(order.order_id)
            continue
        finished.append(order.order_id)
    return PendingRefunds(finished=tuple(finished), unavailable=tuple(unavailable), rejected=tuple(rejected))


# Where a refund that failed later can find its order: refunded, cancelled (a paid order's cancel, or a checkout
# that failed and whose late payment was refunded), or still waiting for the provider's first answer.
_REFUND_CAN_FAIL_FROM = frozenset({OrderStatus.REFUNDED, OrderStatus.CANCELLED, OrderStatus.REFUND_PENDING})


def record_failed_refund(
    orders: OrderRepository, checkouts: Checkouts, event: PaymentEvent, actor: str = "payments"
) -> Order | None:
    """A refund the provider accepted failed later: its order moves to REFUND_FAILED with a `RefundFailed` event
    (the provider's `failure_reason`, the refund and intent ids), for an operator to settle. Idempotent: an
    order already REFUND_FAILED is returned as it is (Stripe sends two events per failure, and may repeat
    them). None when the refund is none of ours: no order in its metadata, the order's payment is another
    intent, or the order recorded another refund."""
    order_id = canonical_order_id(event.order_id or "")
    order = orders.get(order_id) if order_id else None
    if order is None or event.intent_id is None:
        return None
    checkout = checkouts.get(order.checkout_id)
    if checkout is None or checkout.payment is None or checkout.payment.intent_id != event.intent_id:
        return None
    recorded = [e.detail["refundId"] for e in order.events if isinstance(e.detail.get("refundId"), str)]
    if recorded and event.refund_id not in recorded:
        return None
    if order.status is OrderStatus.REFUND_FAILED:
        return order
    detail = {
        "intentId": event.intent_id,
        "refundId": event.refund_id,
        "reason": event.failure_message or "unknown",
        "stage": "failed",
    }
    try:
        return apply_action(
            orders, order.order_id, OrderAction.FAIL_REFUND, actor, detail=detail, only_from=_REFUND_CAN_FAIL_FROM
        )
    except InvalidTransition:
        # PAID, PARTIALLY_FULFILLED or FULFILLED: this order's money never went back by a refund we asked for;
        # or REFUND_FAILED by a concurrent delivery of the same failure. Either way there is nothing to move.
        return get_order(orders, order.order_id)


def _pending_request(order: Order) -> OrderEvent:
    """The RefundRequested event that moved `order` to REFUND_PENDING (its latest status event)."""
    for event in reversed(order.events):
        if event.to_status is not None:
            if event.type != EVENT_TYPES[OrderAction.REQUEST_REFUND]:
                break
            return event
    raise ValueError(f"order {order.order_id} is not waiting for a refund")


def _requested_action(order: Order) -> OrderAction:
    return OrderAction(str(_pending_request(order).detail["action"]))


def finish_restock(records: PaymentRecords, order: Order) -> None:
    """Put back the stock a refund or cancel decided to put back, if an earlier attempt stopped before."""
    for event in order.events:
        intent_id = event.detail.get("intentId")
        if event.type in _MONEY_BACK_EVENTS and event.detail.get("restock") is True and isinstance(intent_id, str):
            records.restock(intent_id, order.checkout_id, order.order_id, unshipped_lines(order))


def unshipped_lines(order: Order) -> tuple[ReservationLine, ...]:
    """The units no fulfilment took (fulfilments end at REFUND_PENDING, so this stays what the refund decided)."""
    return tuple(ReservationLine(sku=sku, quantity=units) for sku, units in order.unfulfilled().items())


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
