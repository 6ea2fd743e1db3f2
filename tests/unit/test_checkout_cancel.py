"""The buyer's cancel with in-memory fakes: an open checkout becomes CANCELLED and everything is undone once
(intent, stock, order, the waiting workflow task); someone else's is 404, a paid or final one 409; a cancel
that died part-way is finished by its retry; the workflow's compensation afterwards changes nothing."""

from __future__ import annotations

import pytest

from commerce.domain.checkout.cancel import CancelDeps, cancel_checkout
from commerce.domain.checkout.errors import CheckoutNotCancellable, CheckoutNotFound
from commerce.domain.checkout.models import CheckoutStatus, FailureCode
from commerce.domain.checkout.saga import CHECKOUT_CANCELLED, CHECKOUT_CANCELLED_ERROR, CheckoutClosed
from commerce.domain.orders.models import OrderOwner, OrderStatus
from commerce.domain.orders.service import get_order
from commerce.domain.payments.models import PaymentOutcome
from tests.unit.test_checkout_saga import NOW, Shop

BUYER = OrderOwner(session_id="sess-1")


@pytest.fixture
def shop() -> Shop:
    return Shop()


def deps(shop: Shop) -> CancelDeps:
    return CancelDeps(
        shop.checkouts, shop.orders, shop.ledger, shop.provider, shop.records, shop.tasks, shop.events, lambda: NOW
    )


def test_cancelling_a_checkout_awaiting_payment_undoes_everything_and_stops_the_workflow(shop: Shop) -> None:
    # Given a checkout waiting for its payment, its task token open
    checkout = shop.checkout()
    token = shop.request(checkout.checkout_id)
    # When its buyer cancels it
    cancelled = cancel_checkout(deps(shop), BUYER, checkout.checkout_id)
    # Then it is CANCELLED with the reason, the intent cancelled, the stock back, the order CANCELLED
    assert cancelled.status is CheckoutStatus.CANCELLED
    assert cancelled.failure is not None
    assert cancelled.failure.code is FailureCode.CANCELLED
    assert shop.stored(checkout.checkout_id) == cancelled
    intent_id = shop.intent_of(checkout.checkout_id)
    assert shop.provider.intents[intent_id].status == "canceled"
    record = shop.records.get(intent_id)
    assert record is not None
    assert record.outcome is PaymentOutcome.CLOSED
    assert shop.stock("CUP-1") == (10, 0)
    assert get_order(shop.orders, checkout.order_id).status is OrderStatus.CANCELLED
    # And the waiting task was failed with CheckoutCancelled, the event published, the cart's lock freed
    assert [(o.token, o.error) for o in shop.tasks.outcomes] == [(token, CHECKOUT_CANCELLED_ERROR)]
    assert shop.events.types() == [CHECKOUT_CANCELLED]
    assert shop.checkouts.open_checkout_of(checkout.cart) is None
    # When the workflow compensates for the failed task, Then nothing more happens and it is no fault
    assert shop.compensate(checkout.checkout_id, CHECKOUT_CANCELLED_ERROR) is False
    assert shop.stored(checkout.checkout_id).status is CheckoutStatus.CANCELLED
    assert shop.stock("CUP-1") == (10, 0)
    assert shop.provider.refunded() == []


def test_cancelling_a_queued_checkout_releases_its_stock_and_its_workflow_finds_it_closed(shop: Shop) -> None:
    # Given a checkout not started yet
    checkout = shop.checkout()
    # When its buyer cancels it, Then it is CANCELLED and its stock is back
    assert cancel_checkout(deps(shop), BUYER, checkout.checkout_id).status is CheckoutStatus.CANCELLED
    assert shop.stock("CUP-1") == (10, 0)
    # And its workflow, starting afterwards, finds it closed and creates no intent
    with pytest.raises(CheckoutClosed):
        shop.request(checkout.checkout_id)
    assert shop.provider.intents == {}


def test_someone_elses_checkout_is_not_found_and_nothing_changes(shop: Shop) -> None:
    # Given a checkout of sess-1, When another session cancels it, Then 404 and it is untouched
    checkout = shop.checkout()
    with pytest.raises(CheckoutNotFound):
        cancel_checkout(deps(shop), OrderOwner(session_id="sess-2"), checkout.checkout_id)
    assert shop.stored(checkout.checkout_id) == checkout
    assert shop.stock("CUP-1") == (10, 2)


def test_a_paid_checkout_cannot_be_cancelled_and_still_completes(shop: Shop) -> None:
    # Given a checkout whose payment the webhook decided SUCCEEDED
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    shop.paid(checkout.checkout_id)
    # When its buyer cancels it, Then 409 INVALID_TRANSITION, and it completes
    with pytest.raises(CheckoutNotCancellable):
        cancel_checkout(deps(shop), BUYER, checkout.checkout_id)
    shop.complete(checkout.checkout_id)
    assert shop.stored(checkout.checkout_id).status is CheckoutStatus.COMPLETED
    assert shop.provider.refunded() == []


def test_a_cancel_that_wins_the_payment_record_refunds_a_payment_that_arrives_later(shop: Shop) -> None:
    # Given a cancelled checkout whose intent the buyer had already confirmed in the last moment
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    intent_id = shop.intent_of(checkout.checkout_id)
    shop.provider.pay(intent_id)
    # When its buyer cancels it, Then the cancel finds the intent paid and refunds it (no order, no charge kept)
    assert cancel_checkout(deps(shop), BUYER, checkout.checkout_id).status is CheckoutStatus.CANCELLED
    assert shop.provider.refunded() == [intent_id]
    assert shop.stock("CUP-1") == (10, 0)
    # And the webhook that comes after finds the outcome CLOSED: it cannot complete the checkout
    record = shop.records.decide(intent_id, checkout.checkout_id, checkout.order_id, PaymentOutcome.SUCCEEDED)
    assert record.outcome is PaymentOutcome.CLOSED


def test_a_final_checkout_is_409_and_a_cancel_that_died_part_way_is_finished_by_its_retry(shop: Shop) -> None:
    # Given a checkout whose cancel wrote CANCELLED and then died (stock still held)
    checkout = shop.checkout()
    shop.checkouts.replace(checkout.moved_to(CheckoutStatus.CANCELLED, NOW), expected_version=checkout.version)
    assert shop.stock("CUP-1") == (10, 2)
    # When the buyer retries the cancel, Then 409 INVALID_TRANSITION, and the stock is back
    with pytest.raises(CheckoutNotCancellable):
        cancel_checkout(deps(shop), BUYER, checkout.checkout_id)
    assert shop.stock("CUP-1") == (10, 0)
