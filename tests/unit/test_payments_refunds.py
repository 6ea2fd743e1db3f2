"""Money back for operators, with in-memory fakes: refund and cancel of paid orders, the stock returned only
when nothing shipped and only once, and refusals that change nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pytest

from commerce.domain.orders.errors import InvalidTransition
from commerce.domain.orders.fulfilments import fulfil, fulfill_order
from commerce.domain.orders.models import FulfilmentLine, OrderAction, OrderStatus
from commerce.domain.orders.service import apply_action, get_order
from commerce.domain.payments.errors import PaymentProviderUnavailable, RefundRejected
from commerce.domain.payments.models import Refund
from commerce.domain.payments.refunds import (
    MoneyBack,
    PendingRefunds,
    cancel_order,
    finish_pending_refunds,
    refund_order,
)
from tests.unit.test_checkout_saga import Shop


@pytest.fixture
def shop() -> Shop:
    return Shop()


def money_back(shop: Shop) -> MoneyBack:
    return MoneyBack(shop.orders, shop.checkouts, lambda: shop.provider, shop.records)


def paid_order(shop: Shop) -> tuple[str, str]:
    """A completed checkout: (order id, intent id). Its 2 cups and 1 mug left on-hand stock."""
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    intent_id = shop.paid(checkout.checkout_id)
    shop.complete(checkout.checkout_id)
    return checkout.order_id, intent_id


def test_refunding_a_paid_order_refunds_it_and_puts_its_units_back_once(shop: Shop) -> None:
    # Given a paid order, not shipped
    order_id, intent_id = paid_order(shop)
    assert shop.stock("CUP-1") == (8, 0)
    # When an operator refunds it
    refunded = refund_order(money_back(shop), order_id, actor="operator:op-1")
    # Then the provider refunded the payment, the order is REFUNDED with its refund, the units are back
    assert refunded.status is OrderStatus.REFUNDED
    assert shop.provider.refunded() == [intent_id]
    event = refunded.events[-1]
    assert (event.type, event.actor, event.detail["intentId"], event.detail["restock"]) == (
        "OrderRefunded",
        "operator:op-1",
        intent_id,
        True,
    )
    assert event.detail["refundId"]
    assert (shop.stock("CUP-1"), shop.stock("MUG-2")) == ((10, 0), (10, 0))
    # When the operator asks again, Then 409 and nothing moves (no second refund, no second restock)
    with pytest.raises(InvalidTransition):
        refund_order(money_back(shop), order_id, actor="operator:op-1")
    assert shop.provider.calls.count("refund") == 1
    assert shop.stock("CUP-1") == (10, 0)


def test_refunding_a_fulfilled_order_keeps_the_stock_as_it_is(shop: Shop) -> None:
    # Given a paid order that shipped
    order_id, intent_id = paid_order(shop)
    fulfill_order(shop.orders, order_id, actor="operator:op-1")
    # When it is refunded, Then the money goes back but the shipped units do not come back on the shelf
    assert refund_order(money_back(shop), order_id, actor="operator:op-1").status is OrderStatus.REFUNDED
    assert shop.provider.refunded() == [intent_id]
    assert shop.stock("CUP-1") == (8, 0)


def test_refunding_a_partly_shipped_order_puts_back_only_what_did_not_ship(shop: Shop) -> None:
    # Given a paid order of 2 cups and a mug, one cup of which shipped
    order_id, intent_id = paid_order(shop)
    fulfil(shop.orders, order_id, [FulfilmentLine("CUP-1", 1)], actor="operator:op-1")
    # When an operator cancels it, Then 409: something shipped, so only a refund can give the money back
    with pytest.raises(InvalidTransition):
        cancel_order(money_back(shop), order_id, actor="operator:op-1")
    assert shop.provider.refunded() == []
    # When it is refunded, Then the money goes back and so do the cup and the mug that did not ship
    refunded = refund_order(money_back(shop), order_id, actor="operator:op-1")
    assert refunded.status is OrderStatus.REFUNDED
    assert refunded.events[-1].detail["restock"] is True
    assert shop.provider.refunded() == [intent_id]
    assert (shop.stock("CUP-1"), shop.stock("MUG-2")) == ((9, 0), (10, 0))


def test_cancelling_a_paid_order_refunds_it_and_puts_its_units_back(shop: Shop) -> None:
    # Given a paid order
    order_id, intent_id = paid_order(shop)
    # When an operator cancels it
    cancelled = cancel_order(money_back(shop), order_id, actor="operator:op-1")
    # Then it is CANCELLED, refunded and restocked
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.events[-1].detail["intentId"] == intent_id
    assert shop.provider.refunded() == [intent_id]
    assert shop.stock("CUP-1") == (10, 0)


def test_cancelling_an_unpaid_order_involves_no_payment(shop: Shop) -> None:
    # Given an order whose payment is still awaited
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    # When an operator cancels it, Then it is CANCELLED without any call to the provider
    calls = list(shop.provider.calls)
    assert cancel_order(money_back(shop), checkout.order_id, actor="op").status is OrderStatus.CANCELLED
    assert shop.provider.calls == calls


@pytest.mark.parametrize("action", [refund_order, cancel_order])
def test_an_order_that_cannot_move_is_refused_without_touching_the_payment(shop: Shop, action: object) -> None:
    # Given a paid order that shipped and was refunded already
    order_id, _ = paid_order(shop)
    fulfill_order(shop.orders, order_id, actor="op")
    refund_order(money_back(shop), order_id, actor="op")
    calls, stock = list(shop.provider.calls), shop.stock("CUP-1")
    # When an operator refunds or cancels it again, Then 409 and nothing changes
    with pytest.raises(InvalidTransition):
        action(money_back(shop), order_id, actor="op")  # type: ignore[operator]
    assert (shop.provider.calls, shop.stock("CUP-1")) == (calls, stock)


def test_an_unpaid_order_cannot_be_refunded(shop: Shop) -> None:
    # Given an unpaid order, When an operator refunds it, Then 409 and no provider call
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    with pytest.raises(InvalidTransition):
        refund_order(money_back(shop), checkout.order_id, actor="op")
    assert "refund" not in shop.provider.calls


def test_a_refund_the_provider_cannot_take_leaves_the_order_refund_pending(shop: Shop) -> None:
    # Given a paid order and a provider that is down
    order_id, _ = paid_order(shop)
    shop.provider.failures.append(PaymentProviderUnavailable("503"))
    # When an operator refunds it, Then the error surfaces, no money moved and the stock is unchanged; the
    # order waits REFUND_PENDING (it can no longer be fulfilled)
    with pytest.raises(PaymentProviderUnavailable):
        refund_order(money_back(shop), order_id, actor="op")
    assert get_order(shop.orders, order_id).status is OrderStatus.REFUND_PENDING
    assert shop.provider.refunded() == []
    assert shop.stock("CUP-1") == (8, 0)
    with pytest.raises(InvalidTransition):
        fulfill_order(shop.orders, order_id, actor="op")
    # When it is retried, Then it succeeds with one refund
    assert refund_order(money_back(shop), order_id, actor="op").status is OrderStatus.REFUNDED
    assert shop.provider.calls.count("refund") == 2  # the failed call and the one that went through
    assert len(shop.provider.refunded()) == 1
    assert shop.stock("CUP-1") == (10, 0)


@pytest.mark.parametrize(
    ("action", "final"), [(refund_order, OrderStatus.REFUNDED), (cancel_order, OrderStatus.CANCELLED)]
)
def test_the_order_moves_before_the_provider_is_asked(shop: Shop, action: object, final: OrderStatus) -> None:
    # Given a paid order and a provider that looks at the order when it is asked for the refund
    order_id, _ = paid_order(shop)
    seen: list[OrderStatus] = []
    original = shop.provider.refund

    def refund(intent_id: str, metadata: Mapping[str, str], idempotency_key: str) -> Refund:
        seen.append(get_order(shop.orders, order_id).status)
        return original(intent_id, metadata, idempotency_key)

    shop.provider.refund = refund  # type: ignore[method-assign]
    # When an operator refunds (or cancels) it
    moved = action(money_back(shop), order_id, actor="op")  # type: ignore[operator]
    # Then the provider was asked only once the order was REFUND_PENDING, and its answer moved it on
    assert seen == [OrderStatus.REFUND_PENDING]
    assert moved.status is final
    types = [event.type for event in moved.events]
    assert types[-2:] == ["RefundRequested", "OrderRefunded" if final is OrderStatus.REFUNDED else "OrderCancelled"]
    assert moved.events[-1].detail["refundId"]


def test_a_refund_that_stopped_after_moving_the_order_is_finished_by_the_upkeep(shop: Shop) -> None:
    # Given two paid orders whose refunds died between moving the order and asking the provider
    stopped = [paid_order(shop)[0], paid_order(shop)[0]]
    for order_id in stopped:
        shop.provider.failures.append(RuntimeError("the sandbox was recycled"))
        with pytest.raises(RuntimeError):
            cancel_order(money_back(shop), order_id, actor="op")
        assert get_order(shop.orders, order_id).status is OrderStatus.REFUND_PENDING
    # When the upkeep runs while the provider is down, Then nothing is finished and both are reported
    shop.provider.failures.extend([PaymentProviderUnavailable("503"), PaymentProviderUnavailable("503")])
    down = finish_pending_refunds(money_back(shop), limit=10)
    assert down.finished == ()
    assert sorted(down.unavailable) == sorted(stopped)  # in the orders' listing order, whose ties are by id
    # When it runs with one order per run, Then each run finishes one, as cancelled (what was asked), stock back
    first = finish_pending_refunds(money_back(shop), limit=1)
    second = finish_pending_refunds(money_back(shop), limit=1)
    assert sorted(first.finished + second.finished) == sorted(stopped)
    assert finish_pending_refunds(money_back(shop), limit=10) == PendingRefunds((), ())
    for order_id in stopped:
        assert get_order(shop.orders, order_id).status is OrderStatus.CANCELLED
    assert len(shop.provider.refunded()) == 2
    assert shop.stock("CUP-1") == (10, 0)  # each order's 2 cups back, once


def test_a_second_refund_of_a_pending_order_finishes_it_once(shop: Shop) -> None:
    # Given an order left REFUND_PENDING by a refund the provider could not take
    order_id, _ = paid_order(shop)
    shop.provider.failures.append(PaymentProviderUnavailable("503"))
    with pytest.raises(PaymentProviderUnavailable):
        refund_order(money_back(shop), order_id, actor="op")
    # When an operator cancels it instead, Then the refund asked for is finished and the cancel is 409
    with pytest.raises(InvalidTransition):
        cancel_order(money_back(shop), order_id, actor="op")
    assert get_order(shop.orders, order_id).status is OrderStatus.REFUNDED
    assert len(shop.provider.refunded()) == 1
    assert shop.stock("CUP-1") == (10, 0)


def test_a_restock_interrupted_after_the_transition_is_finished_by_the_next_call(shop: Shop) -> None:
    # Given a refund that moved the order but stopped before putting the units back
    order_id, intent_id = paid_order(shop)
    refund = shop.provider.refund(intent_id, {"checkout_id": "", "order_id": order_id}, f"refund-{order_id}")
    apply_action(
        shop.orders,
        order_id,
        OrderAction.REFUND,
        "op",
        detail={**refund.to_json(), "restock": True},
    )
    assert shop.stock("CUP-1") == (8, 0)
    # When the operator tries again, Then 409 (the order is final) but the units are put back, once
    for _ in range(2):
        with pytest.raises(InvalidTransition):
            refund_order(money_back(shop), order_id, actor="op")
    assert shop.stock("CUP-1") == (10, 0)


def test_a_paid_order_without_a_recorded_payment_is_refused(shop: Shop) -> None:
    # Given a paid order whose checkout holds no payment (data from before payments existed)
    order_id, _ = paid_order(shop)
    checkout = next(c for c in shop.checkouts.records.values() if c.order_id == order_id)
    shop.checkouts.records[checkout.checkout_id] = replace(checkout, payment=None)
    # When an operator cancels it, Then 409: it cannot be refunded, so it is not cancelled
    with pytest.raises(InvalidTransition):
        cancel_order(money_back(shop), order_id, actor="op")
    assert get_order(shop.orders, order_id).status is OrderStatus.PAID


@pytest.mark.parametrize("action", [refund_order, cancel_order])
def test_a_refund_the_provider_refuses_leaves_the_order_refund_failed_with_its_reason(
    shop: Shop, action: object
) -> None:
    # Given a paid order whose charge the provider will not refund (disputed)
    order_id, intent_id = paid_order(shop)
    shop.provider.failures.append(RefundRejected("The charge is disputed", reason="charge_disputed"))
    # When an operator refunds (or cancels) it, Then the refusal surfaces (409 REFUND_REJECTED)
    with pytest.raises(RefundRejected) as refused:
        action(money_back(shop), order_id, actor="operator:op-1")  # type: ignore[operator]
    assert refused.value.code.value == "REFUND_REJECTED"
    assert refused.value.code.status == 409
    # And the order is REFUND_FAILED, its history saying who asked, what the provider answered and why
    order = get_order(shop.orders, order_id)
    assert order.status is OrderStatus.REFUND_FAILED
    event = order.events[-1]
    assert (event.type, event.from_status, event.actor) == ("RefundFailed", OrderStatus.REFUND_PENDING, "operator:op-1")
    assert (event.detail["intentId"], event.detail["reason"], event.detail["stage"]) == (
        intent_id,
        "charge_disputed",
        "refused",
    )
    # And no money moved, no unit came back
    assert shop.provider.refunded() == []
    assert shop.stock("CUP-1") == (8, 0)
    # When the operator tries again, Then 409 INVALID_TRANSITION: nothing leaves REFUND_FAILED, nothing is asked
    calls = len(shop.provider.calls)
    with pytest.raises(InvalidTransition):
        refund_order(money_back(shop), order_id, actor="op")
    assert len(shop.provider.calls) == calls


def test_a_charge_already_refunded_at_the_provider_counts_as_the_refund(shop: Shop) -> None:
    # Given a paid order whose payment was refunded at the provider already (another key: say, from its dashboard)
    order_id, intent_id = paid_order(shop)
    shop.provider.refund(intent_id, {}, "dashboard-refund")
    # When an operator refunds it, Then it is REFUNDED (the provider's "already refunded" is the refund), units back
    refunded = refund_order(money_back(shop), order_id, actor="op")
    assert refunded.status is OrderStatus.REFUNDED
    assert refunded.events[-1].detail["refundId"] is None
    assert shop.provider.refunded() == [intent_id]
    assert shop.stock("CUP-1") == (10, 0)


def test_the_upkeep_records_a_pending_refund_the_provider_refuses(shop: Shop) -> None:
    # Given an order left REFUND_PENDING by an outage, whose charge is then disputed
    order_id, _ = paid_order(shop)
    shop.provider.failures.append(PaymentProviderUnavailable("503"))
    with pytest.raises(PaymentProviderUnavailable):
        refund_order(money_back(shop), order_id, actor="op")
    shop.provider.failures.append(RefundRejected("The charge is disputed", reason="charge_disputed"))
    # When the upkeep runs, Then it reports the order rejected, now REFUND_FAILED; the next run finds nothing
    assert finish_pending_refunds(money_back(shop), limit=10) == PendingRefunds((), (), (order_id,))
    assert get_order(shop.orders, order_id).status is OrderStatus.REFUND_FAILED
    assert finish_pending_refunds(money_back(shop), limit=10) == PendingRefunds((), ())
    assert shop.provider.refunded() == []
