"""What each provider event changes, with in-memory fakes: duplicates, any delivery order, late events,
events for intents that are not ours, and a handler that fails midway."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest

from commerce.domain.checkout.models import CheckoutStatus
from commerce.domain.orders.errors import InvalidTransition
from commerce.domain.orders.models import OrderStatus
from commerce.domain.orders.service import get_order
from commerce.domain.payments.errors import PaymentProviderUnavailable
from commerce.domain.payments.models import PAYMENT_DECLINED_ERROR, PaymentEvent, PaymentOutcome
from commerce.domain.payments.refunds import MoneyBack, PendingRefunds, finish_pending_refunds, refund_order
from commerce.domain.payments.webhooks import WebhookDeps, WebhookResult, handle_payment_event
from tests.support.fakes.payments import InMemoryWebhookLog
from tests.unit.test_checkout_saga import Shop

_event_ids = itertools.count(1)


class Webhooks:
    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.log = InMemoryWebhookLog()
        self.deps = WebhookDeps(
            shop.checkouts, shop.records, shop.tasks, shop.provider, shop.events, self.log, lambda: shop.orders
        )

    def send(self, event: PaymentEvent) -> WebhookResult:
        return handle_payment_event(self.deps, event)


def event(kind: str, intent_id: str | None, checkout_id: str = "", order_id: str = "", **extra: Any) -> PaymentEvent:
    return PaymentEvent(
        event_id=f"evt_{next(_event_ids)}",
        type=kind,
        intent_id=intent_id,
        checkout_id=checkout_id or None,
        order_id=order_id or None,
        **extra,
    )


@pytest.fixture
def shop() -> Shop:
    return Shop()


@pytest.fixture
def hooks(shop: Shop) -> Webhooks:
    return Webhooks(shop)


def awaiting(shop: Shop) -> tuple[str, str, str]:
    """A checkout awaiting payment: (checkout id, order id, intent id); its task token is open."""
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    return checkout.checkout_id, checkout.order_id, shop.intent_of(checkout.checkout_id)


def test_a_success_tells_the_waiting_task_once_even_when_delivered_twice(shop: Shop, hooks: Webhooks) -> None:
    # Given a checkout awaiting payment, and the customer paid
    checkout_id, order_id, intent_id = awaiting(shop)
    shop.provider.pay(intent_id)
    succeeded = event("payment_intent.succeeded", intent_id, checkout_id, order_id)
    # When the event is delivered, then delivered again (same id)
    first, second = hooks.send(succeeded), hooks.send(succeeded)
    # Then the task succeeded once, the outcome is decided, the duplicate changed nothing
    assert (first, second) == (WebhookResult.FORWARDED, WebhookResult.DUPLICATE)
    [outcome] = shop.tasks.outcomes
    assert outcome.succeeded
    assert outcome.output == {"intentId": intent_id, "eventId": succeeded.event_id}
    record = shop.records.get(intent_id)
    assert record is not None
    assert record.outcome is PaymentOutcome.SUCCEEDED


def test_a_failure_fails_the_waiting_task_with_the_providers_message(shop: Shop, hooks: Webhooks) -> None:
    # Given a checkout awaiting payment
    checkout_id, order_id, intent_id = awaiting(shop)
    # When its payment fails
    result = hooks.send(
        event("payment_intent.payment_failed", intent_id, checkout_id, order_id, failure_message="Card declined.")
    )
    # Then the task fails with PaymentDeclined and the message
    assert result is WebhookResult.FORWARDED
    [outcome] = shop.tasks.outcomes
    assert (outcome.succeeded, outcome.error, outcome.cause) == (False, PAYMENT_DECLINED_ERROR, "Card declined.")


def test_a_failure_delivered_after_the_success_changes_nothing(shop: Shop, hooks: Webhooks) -> None:
    # Given a declined attempt and then a successful one, delivered newest first (out of order)
    checkout_id, order_id, intent_id = awaiting(shop)
    shop.provider.pay(intent_id)
    succeeded = event("payment_intent.succeeded", intent_id, checkout_id, order_id)
    failed = event("payment_intent.payment_failed", intent_id, checkout_id, order_id)
    # When both arrive
    results = [hooks.send(succeeded), hooks.send(failed)]
    # Then the success stands: only it reached the task, the late failure was acknowledged
    assert results == [WebhookResult.FORWARDED, WebhookResult.ACKNOWLEDGED]
    assert [o.succeeded for o in shop.tasks.outcomes] == [True]
    record = shop.records.get(intent_id)
    assert record is not None
    assert record.outcome is PaymentOutcome.SUCCEEDED


def test_a_success_after_a_decided_decline_is_refunded(shop: Shop, hooks: Webhooks) -> None:
    # Given a decline the workflow acted on, then the customer paid the same intent with another card
    checkout_id, order_id, intent_id = awaiting(shop)
    hooks.send(event("payment_intent.payment_failed", intent_id, checkout_id, order_id))
    shop.provider.pay(intent_id)
    # When the success arrives, twice with different event ids (Stripe may resend)
    results = [hooks.send(event("payment_intent.succeeded", intent_id, checkout_id, order_id)) for _ in range(2)]
    # Then the money goes back, once, and the checkout is not completed
    assert results == [WebhookResult.REFUNDED, WebhookResult.REFUNDED]
    assert shop.provider.refunded() == [intent_id]
    assert shop.provider.calls.count("refund") == 1
    assert [o.succeeded for o in shop.tasks.outcomes] == [False]
    assert "PaymentRefunded" in shop.events.types()


def test_a_success_after_the_checkout_expired_is_refunded(shop: Shop, hooks: Webhooks) -> None:
    # Given a checkout whose wait timed out and was compensated (EXPIRED, intent cancelled)
    checkout_id, order_id, intent_id = awaiting(shop)
    shop.compensate(checkout_id, "States.Timeout")
    assert shop.stored(checkout_id).status is CheckoutStatus.EXPIRED
    shop.provider.intents[intent_id].status = "succeeded"  # the provider charged before it saw the cancel
    # When the success arrives
    result = hooks.send(event("payment_intent.succeeded", intent_id, checkout_id, order_id))
    # Then it is refunded and the checkout stays EXPIRED
    assert result is WebhookResult.REFUNDED
    assert shop.provider.refunded() == [intent_id]
    assert shop.stored(checkout_id).status is CheckoutStatus.EXPIRED


def test_a_success_whose_task_is_gone_is_kept_for_the_next_attempt(shop: Shop, hooks: Webhooks) -> None:
    # Given a task that is no longer open (its step is being retried)
    checkout_id, order_id, intent_id = awaiting(shop)
    record = shop.records.get(intent_id)
    assert record is not None
    assert record.task_token is not None
    shop.tasks.close(record.task_token)
    shop.provider.pay(intent_id)
    # When the success arrives, Then it is recorded, and the retried step passes it on
    assert hooks.send(event("payment_intent.succeeded", intent_id, checkout_id, order_id)) is WebhookResult.RECORDED
    token = shop.request(checkout_id)
    assert [(o.token, o.succeeded) for o in shop.tasks.outcomes] == [(token, True)]


def test_a_success_that_arrives_before_the_token_is_stored_is_passed_on_when_it_is(shop: Shop, hooks: Webhooks) -> None:
    # Given a checkout whose intent exists at the provider, but whose workflow has not stored its token yet
    checkout = shop.checkout()
    intent = shop.provider.create_intent(
        checkout.total,
        {"checkout_id": checkout.checkout_id, "order_id": checkout.order_id},
        f"payment-intent-{checkout.checkout_id}",
    )
    shop.provider.pay(intent.intent_id)
    # When its success arrives, Then it is recorded against the checkout's intent
    result = hooks.send(event("payment_intent.succeeded", intent.intent_id, checkout.checkout_id, checkout.order_id))
    assert result is WebhookResult.RECORDED
    # And the workflow's step reuses that intent and passes the outcome to its task
    token = shop.request(checkout.checkout_id)
    assert shop.intent_of(checkout.checkout_id) == intent.intent_id
    assert [(o.token, o.succeeded) for o in shop.tasks.outcomes] == [(token, True)]


@pytest.mark.parametrize(
    ("intent_id", "checkout_id", "order_id"),
    [
        (None, "", ""),  # not a payment intent's event
        ("pi_x", "", ""),  # an intent without our metadata
        ("pi_x", "no-such-checkout", "o-1"),  # metadata naming no checkout
    ],
)
def test_events_for_intents_that_are_not_ours_are_ignored(
    shop: Shop, hooks: Webhooks, intent_id: str | None, checkout_id: str, order_id: str
) -> None:
    # Given an event that names nothing of ours, When it arrives, Then it is ignored and nothing is written
    assert hooks.send(event("payment_intent.succeeded", intent_id, checkout_id, order_id)) is WebhookResult.IGNORED
    assert shop.records.records == {}


def test_an_event_naming_another_checkouts_order_is_ignored(shop: Shop, hooks: Webhooks) -> None:
    # Given a checkout, and an intent whose metadata names it with the wrong order
    checkout = shop.checkout()
    # When its event arrives, Then it is ignored
    result = hooks.send(event("payment_intent.succeeded", "pi_forged", checkout.checkout_id, "another-order"))
    assert result is WebhookResult.IGNORED
    assert shop.records.records == {}


def test_unknown_types_and_cancellations_are_acknowledged_without_effect(shop: Shop, hooks: Webhooks) -> None:
    # Given a checkout awaiting payment
    checkout_id, order_id, intent_id = awaiting(shop)
    # When a charge event and a cancellation arrive
    charge = hooks.send(event("charge.succeeded", intent_id, checkout_id, order_id))
    canceled = hooks.send(event("payment_intent.canceled", intent_id, checkout_id, order_id))
    # Then neither changes anything; only the handled type is remembered
    assert (charge, canceled) == (WebhookResult.IGNORED, WebhookResult.ACKNOWLEDGED)
    assert shop.tasks.outcomes == []
    assert list(hooks.log.events.values()) == ["payment_intent.canceled"]


def test_an_event_whose_handling_failed_midway_is_handled_again(shop: Shop, hooks: Webhooks) -> None:
    # Given a late success whose refund fails (the provider is down)
    checkout_id, order_id, intent_id = awaiting(shop)
    shop.compensate(checkout_id, PAYMENT_DECLINED_ERROR)
    shop.provider.intents[intent_id].status = "succeeded"
    late = event("payment_intent.succeeded", intent_id, checkout_id, order_id)
    shop.provider.failures.append(PaymentProviderUnavailable("503"))
    # When it is delivered, Then the handler fails and the event is not remembered
    with pytest.raises(PaymentProviderUnavailable):
        hooks.send(late)
    assert not hooks.log.seen(late.event_id)
    # When the provider delivers it again, Then it is refunded this time
    assert hooks.send(late) is WebhookResult.REFUNDED
    assert shop.provider.refunded() == [intent_id]


def test_a_stripe_event_is_read_from_its_payment_intent() -> None:
    # Given Stripe's event for a declined intent, When it is read, Then its ids, metadata and message come out
    parsed = PaymentEvent.from_stripe(
        {
            "id": "evt_1",
            "object": "event",
            "type": "payment_intent.payment_failed",
            "data": {
                "object": {
                    "id": "pi_1",
                    "object": "payment_intent",
                    "metadata": {"checkout_id": "c-1", "order_id": "o-1"},
                    "last_payment_error": {"message": "Your card was declined."},
                }
            },
        }
    )
    assert parsed == PaymentEvent(
        "evt_1", "payment_intent.payment_failed", "pi_1", "c-1", "o-1", "Your card was declined."
    )
    # And an event of another object, or a malformed one, has no intent
    assert (
        PaymentEvent.from_stripe(
            {"id": "evt_2", "type": "charge.refunded", "data": {"object": {"id": "ch_1"}}}
        ).intent_id
        is None
    )
    assert PaymentEvent.from_stripe({"id": "evt_3", "data": "nonsense"}).intent_id is None


def refunded_order(shop: Shop) -> tuple[str, str, str, str]:
    """A paid order an operator refunded: (checkout id, order id, intent id, refund id)."""
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    intent_id = shop.paid(checkout.checkout_id)
    shop.complete(checkout.checkout_id)
    money_back = MoneyBack(shop.orders, shop.checkouts, lambda: shop.provider, shop.records)
    refunded = refund_order(money_back, checkout.order_id, actor="operator:op-1")
    return checkout.checkout_id, checkout.order_id, intent_id, str(refunded.events[-1].detail["refundId"])


def refund_failed(kind: str, checkout_id: str, order_id: str, intent_id: str, refund_id: str) -> PaymentEvent:
    return event(
        kind,
        intent_id,
        checkout_id,
        order_id,
        refund_id=refund_id,
        refund_status="failed",
        failure_message="expired_or_canceled_card",
    )


def test_a_refund_that_fails_later_moves_its_order_to_refund_failed_once(shop: Shop, hooks: Webhooks) -> None:
    # Given a refunded order, and the provider reporting later that the refund failed, with both of Stripe's
    # events, each delivered twice, the legacy one first
    checkout_id, order_id, intent_id, refund_id = refunded_order(shop)
    updated = refund_failed("charge.refund.updated", checkout_id, order_id, intent_id, refund_id)
    failed = refund_failed("refund.failed", checkout_id, order_id, intent_id, refund_id)
    results = [hooks.send(e) for e in (updated, failed, updated, failed)]
    # Then the order left REFUNDED for REFUND_FAILED once, with the provider's reason; the rest changed nothing
    assert results == [
        WebhookResult.REFUND_FAILED,
        WebhookResult.REFUND_FAILED,
        WebhookResult.DUPLICATE,
        WebhookResult.DUPLICATE,
    ]
    order = get_order(shop.orders, order_id)
    assert order.status is OrderStatus.REFUND_FAILED
    assert [e.type for e in order.events].count("RefundFailed") == 1
    last = order.events[-1]
    assert (last.from_status, last.actor) == (OrderStatus.REFUNDED, "payments")
    assert dict(last.detail) == {
        "intentId": intent_id,
        "refundId": refund_id,
        "reason": "expired_or_canceled_card",
        "stage": "failed",
    }


def test_a_refund_failure_overtaking_the_refunds_answer_still_ends_refund_failed(shop: Shop, hooks: Webhooks) -> None:
    # Given an order whose refund the provider accepted, but whose function stopped before recording the answer
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    intent_id = shop.paid(checkout.checkout_id)
    shop.complete(checkout.checkout_id)
    shop.provider.failures.append(PaymentProviderUnavailable("503"))
    money_back = MoneyBack(shop.orders, shop.checkouts, lambda: shop.provider, shop.records)
    with pytest.raises(PaymentProviderUnavailable):
        refund_order(money_back, checkout.order_id, actor="op")
    # When the refund's failure arrives while the order is still REFUND_PENDING
    failed = refund_failed("refund.failed", checkout.checkout_id, checkout.order_id, intent_id, "re_x")
    assert hooks.send(failed) is WebhookResult.REFUND_FAILED
    # Then the order is REFUND_FAILED: the upkeep finds nothing to finish, a retried refund is 409, no unit is back
    assert get_order(shop.orders, checkout.order_id).status is OrderStatus.REFUND_FAILED
    assert finish_pending_refunds(money_back, limit=10) == PendingRefunds((), ())
    with pytest.raises(InvalidTransition):
        refund_order(money_back, checkout.order_id, actor="op")
    assert get_order(shop.orders, checkout.order_id).status is OrderStatus.REFUND_FAILED
    assert shop.stock("CUP-1") == (8, 0)


@pytest.mark.parametrize("case", ["other-order", "other-intent", "other-refund", "not-failed"])
def test_refund_events_that_are_not_a_failure_of_ours_change_nothing(shop: Shop, hooks: Webhooks, case: str) -> None:
    # Given a refunded order
    checkout_id, order_id, intent_id, refund_id = refunded_order(shop)
    fields = {
        "other-order": {"order_id": "00000000-0000-4000-8000-000000000000"},
        "other-intent": {"intent_id": "pi_someone_else"},
        "other-refund": {"refund_id": "re_another"},
        "not-failed": {"refund_status": "succeeded"},
    }[case]
    base = refund_failed("refund.failed", checkout_id, order_id, intent_id, refund_id)
    # When a refund event arrives that names another order, intent or refund, or a refund that did not fail
    result = hooks.send(replace(base, **fields))
    # Then it is ignored and the order stays REFUNDED
    assert result is WebhookResult.IGNORED
    assert get_order(shop.orders, order_id).status is OrderStatus.REFUNDED
