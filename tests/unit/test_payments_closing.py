"""Intents whose payment was closed but whose cancel failed, with in-memory fakes: the compensation does not
wait for the provider, the record stays listed as awaiting its cancel, and the upkeep cancels the intent (or
refunds it once, if the customer paid it meanwhile). Nothing is cancelled or refunded twice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from commerce.domain.clock import utc_now
from commerce.domain.operations.upkeep import RepairReport
from commerce.domain.payments.closing import Repair, cancel_closed_intents
from commerce.domain.payments.errors import PaymentProviderUnavailable
from commerce.domain.payments.models import PaymentOutcome
from tests.support.fakes.payments import InMemoryPaymentRecords
from tests.unit.test_checkout_saga import Shop


class Killed(BaseException):
    """The function's process dying between two writes: no `except Exception` cleanup runs."""


def upkeep(shop: Shop, limit: int = 10) -> RepairReport[Repair]:
    later = utc_now() + timedelta(seconds=1)
    return cancel_closed_intents(shop.records, shop.records, shop.provider, shop.events, now=later, limit=limit)


def timed_out_while_the_provider_is_down(shop: Shop) -> str:
    """A checkout awaiting payment whose payment times out while the provider cannot answer: its intent."""
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    shop.provider.failures.append(PaymentProviderUnavailable("the provider is down"))
    shop.compensate(checkout.checkout_id, "States.Timeout")
    return shop.intent_of(checkout.checkout_id)


def test_a_cancel_the_provider_could_not_answer_is_made_once_by_the_upkeep() -> None:
    # Given a compensation that closed the payment but could not cancel the intent (the provider was down)
    shop = Shop()
    intent_id = timed_out_while_the_provider_is_down(shop)
    assert shop.provider.intents[intent_id].status == "requires_payment_method"  # payable still
    record = shop.records.get(intent_id)
    assert record is not None
    assert (record.outcome, record.awaiting_cancel) == (PaymentOutcome.CLOSED, True)
    # When the upkeep runs, twice
    first, second = upkeep(shop), upkeep(shop)
    # Then the intent was cancelled by the first, and the second had nothing to look at
    assert first.repaired == {Repair.CANCELLED: [intent_id], Repair.REFUNDED: []}
    assert shop.provider.intents[intent_id].status == "canceled"
    assert second.examined == 0
    assert shop.provider.calls.count("cancel_intent") == 2  # the compensation's (failed), the upkeep's


def test_a_cancel_that_succeeded_at_once_leaves_nothing_listed() -> None:
    # Given a payment timeout with the provider up
    shop = Shop()
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    shop.compensate(checkout.checkout_id, "States.Timeout")
    # When the upkeep runs, Then it has nothing to look at
    assert shop.provider.intents[shop.intent_of(checkout.checkout_id)].status == "canceled"
    assert upkeep(shop).examined == 0


def test_an_intent_paid_before_the_upkeep_cancels_it_is_refunded_once() -> None:
    # Given an intent left payable by a compensation, which the customer then pays (its webhook still on its way)
    shop = Shop()
    intent_id = timed_out_while_the_provider_is_down(shop)
    shop.provider.pay(intent_id)
    # When the upkeep runs twice
    assert upkeep(shop).repaired == {Repair.CANCELLED: [], Repair.REFUNDED: [intent_id]}
    assert upkeep(shop).examined == 0
    # Then the customer got their money back once
    assert shop.provider.refunded() == [intent_id]
    assert shop.provider.calls.count("refund") == 1
    assert "PaymentRefunded" in shop.events.types()


def test_a_provider_still_down_leaves_the_intent_listed_for_the_next_run() -> None:
    # Given an intent awaiting its cancel, and a provider still down for the upkeep's first run
    shop = Shop()
    intent_id = timed_out_while_the_provider_is_down(shop)
    shop.provider.failures.append(PaymentProviderUnavailable("still down"))
    # When the upkeep runs, Then it fails for that intent and keeps it listed
    first = upkeep(shop)
    assert [failed for failed, _ in first.failed] == [intent_id]
    assert shop.provider.intents[intent_id].status == "requires_payment_method"
    # And once the provider is back, the next run cancels it
    assert upkeep(shop).repaired[Repair.CANCELLED] == [intent_id]
    assert shop.provider.intents[intent_id].status == "canceled"


def test_a_function_killed_after_the_cancel_before_the_listing_is_removed_is_finished_by_the_upkeep() -> None:
    # Given a compensation that cancelled the intent at the provider and died before removing the listing
    shop = Shop()
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)

    def killed(intent_id: str) -> None:
        raise Killed()

    shop.records.intent_closed = killed  # type: ignore[method-assign]
    with pytest.raises(Killed):
        shop.compensate(checkout.checkout_id, "States.Timeout")
    del shop.records.intent_closed  # the next invocation runs the real code
    intent_id = shop.intent_of(checkout.checkout_id)
    assert shop.provider.intents[intent_id].status == "canceled"
    # When the upkeep runs, Then cancelling again is harmless, and the listing is gone
    assert upkeep(shop).repaired[Repair.CANCELLED] == [intent_id]
    assert upkeep(shop).examined == 0


def test_only_intents_closed_before_the_moment_asked_for_are_listed_oldest_first() -> None:
    # Given three intents closed one minute apart
    moments = iter(utc_now() + timedelta(minutes=minute) for minute in (2, 0, 1))
    records = InMemoryPaymentRecords(clock=lambda: next(moments))
    for intent_id in ("pi_a", "pi_b", "pi_c"):
        records.decide(intent_id, f"co-{intent_id}", f"ord-{intent_id}", PaymentOutcome.CLOSED)
    # Then a moment between the second and the third lists the two oldest, oldest first, and a limit holds
    between = utc_now() + timedelta(minutes=1, seconds=30)
    assert records.closed_before(between, 10) == ["pi_b", "pi_c"]
    assert records.closed_before(between, 1) == ["pi_b"]
    # And an outcome other than CLOSED is never listed
    records.decide("pi_d", "co-d", "ord-d", PaymentOutcome.SUCCEEDED)
    assert "pi_d" not in records.closed_before(utc_now() + timedelta(hours=1), 10)


def test_a_declined_intent_whose_cancel_failed_is_cancelled_by_the_upkeep() -> None:
    # Given a declined payment (its intent can still be paid with another card) whose compensation could not
    # cancel the intent
    shop = Shop()
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    intent_id = shop.intent_of(checkout.checkout_id)
    shop.records.decide(intent_id, checkout.checkout_id, checkout.order_id, PaymentOutcome.DECLINED)
    shop.provider.failures.append(PaymentProviderUnavailable("the provider is down"))
    shop.compensate(checkout.checkout_id, "PaymentDeclined", "Your card was declined.")
    assert shop.provider.intents[intent_id].status == "requires_payment_method"
    # When the upkeep runs, Then the intent is cancelled and the outcome stays DECLINED
    assert upkeep(shop).repaired[Repair.CANCELLED] == [intent_id]
    assert shop.provider.intents[intent_id].status == "canceled"
    record = shop.records.get(intent_id)
    assert record is not None
    assert (record.outcome, record.awaiting_cancel) == (PaymentOutcome.DECLINED, False)
