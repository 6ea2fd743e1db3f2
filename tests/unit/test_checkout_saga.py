"""The checkout workflow's steps with in-memory fakes: each one idempotent, every failure compensated, money
and stock accounted for exactly once, whatever order the payment events and retries come in."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from commerce.domain.carts.errors import CartVersionConflict
from commerce.domain.carts.models import Cart, CartLine, CartOwner, CatalogSku
from commerce.domain.carts.service import CustomerBinding, Snapshot
from commerce.domain.checkout.errors import CheckoutCannotComplete, CheckoutClosed
from commerce.domain.checkout.models import Checkout, CheckoutStatus, FailureCode
from commerce.domain.checkout.saga import (
    CHECKOUT_EXPIRED,
    ORDER_PLACED,
    PAYMENT_FAILED,
    compensate_checkout,
    complete_checkout,
    failure_for,
    remove_bought_lines,
    request_payment,
)
from commerce.domain.inventory.models import ReservationLine
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderLine, OrderOwner, OrderStatus, ShippingAddress
from commerce.domain.orders.service import get_order
from commerce.domain.payments.errors import PaymentProviderUnavailable
from commerce.domain.payments.models import PAYMENT_DECLINED_ERROR, PaymentOutcome
from commerce.domain.sessions.models import Session, SessionPolicy
from tests.support.fakes.checkout import InMemoryCheckouts
from tests.support.fakes.inventory import InMemoryStockLedger, SkuRecord
from tests.support.fakes.orders import InMemoryOrderRepository
from tests.support.fakes.payments import (
    InMemoryEvents,
    InMemoryPaymentProvider,
    InMemoryPaymentRecords,
    InMemoryTaskTokens,
)

NOW = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)
ADDRESS = ShippingAddress(name="Ada Lovelace", line1="12 Analytical St", city="London", postal_code="N1", country="GB")
POLICY = SessionPolicy.days(7)


class InMemoryCarts:
    """The two `CartStore` methods the workflow uses, with the DynamoDB store's version check."""

    def __init__(self) -> None:
        self.carts: dict[CartOwner, Cart] = {}
        self.conflicts = 0  # the next saves that lose a race (someone else wrote the cart)
        self.broken = False

    def load_cart(self, owner: CartOwner) -> Cart:
        if self.broken:
            raise RuntimeError("the table is unavailable")
        return self.carts.get(owner, Cart.empty(owner))

    def save(self, cart: Cart, expires_at: datetime | None) -> Cart:
        if self.conflicts:
            self.conflicts -= 1
            stored = self.carts[cart.owner]
            self.carts[cart.owner] = replace(stored, version=stored.version + 1)
            raise CartVersionConflict
        stored = replace(cart, version=cart.version + 1)
        self.carts[cart.owner] = stored
        return stored

    # Not used by the workflow; present so that this is a CartStore.
    def load(self, session_id: str, owners: Sequence[CartOwner], skus: Collection[str]) -> Snapshot:
        raise NotImplementedError

    def load_skus(self, skus: Collection[str]) -> dict[str, CatalogSku]:
        raise NotImplementedError

    def bind_customer(self, binding: CustomerBinding) -> None:
        raise NotImplementedError

    def extend_session(self, session: Session, expires_at: datetime, guest_cart: Cart | None) -> None:
        raise NotImplementedError


@dataclass
class Shop:
    checkouts: InMemoryCheckouts = field(default_factory=InMemoryCheckouts)
    orders: InMemoryOrderRepository = field(default_factory=InMemoryOrderRepository)
    ledger: InMemoryStockLedger = field(default_factory=InMemoryStockLedger)
    provider: InMemoryPaymentProvider = field(default_factory=InMemoryPaymentProvider)
    tasks: InMemoryTaskTokens = field(default_factory=InMemoryTaskTokens)
    events: InMemoryEvents = field(default_factory=InMemoryEvents)
    carts: InMemoryCarts = field(default_factory=InMemoryCarts)
    records: InMemoryPaymentRecords = field(init=False)

    def __post_init__(self) -> None:
        self.records = InMemoryPaymentRecords(self.ledger)
        for sku, price in (("CUP-1", 1200), ("MUG-2", 900)):
            self.ledger.skus[sku] = SkuRecord(sku, f"p-{sku}", sku, "Only", Money(price, "EUR"), on_hand=10)

    def checkout(self, *, customer_id: str | None = None, status: CheckoutStatus = CheckoutStatus.QUEUED) -> Checkout:
        """A checkout as admission leaves it: its lines reserved under its id, recorded QUEUED."""
        checkout_id = str(uuid.uuid4())
        lines = (
            OrderLine("CUP-1", "p-CUP-1", "Cup", 2, Money(1200, "EUR")),
            OrderLine("MUG-2", "p-MUG-2", "Mug", 1, Money(900, "EUR")),
        )
        self.ledger.reserve(checkout_id, [ReservationLine(line.sku, line.quantity) for line in lines], NOW)
        checkout = Checkout(
            checkout_id=checkout_id,
            order_id=str(uuid.uuid4()),
            owner=OrderOwner(session_id="sess-1" if customer_id is None else None, customer_id=customer_id),
            status=status,
            email="ada@example.com",
            shipping_address=ADDRESS,
            lines=lines,
            total=Money(3300, "EUR"),
            reservation_expires_at=NOW + timedelta(minutes=30),
            created_at=NOW,
            updated_at=NOW,
        )
        return self.checkouts.create(checkout)

    def request(self, checkout_id: str, token: str | None = None) -> str:
        token = token or self.tasks.open()
        request_payment(
            checkout_id=checkout_id,
            task_token=token,
            checkouts=self.checkouts,
            orders=self.orders,
            provider=self.provider,
            records=self.records,
            tasks=self.tasks,
            clock=lambda: NOW,
        )
        return token

    def complete(self, checkout_id: str) -> None:
        complete_checkout(
            checkout_id=checkout_id,
            checkouts=self.checkouts,
            orders=self.orders,
            ledger=self.ledger,
            records=self.records,
            events=self.events,
            carts=self.carts,
            session_policy=POLICY,
            clock=lambda: NOW,
        )

    def compensate(self, checkout_id: str, error: str, cause: str | None = None) -> bool:
        return compensate_checkout(
            checkout_id=checkout_id,
            error=error,
            cause=cause,
            checkouts=self.checkouts,
            orders=self.orders,
            ledger=self.ledger,
            provider=self.provider,
            records=self.records,
            events=self.events,
            clock=lambda: NOW,
        ).fault

    def paid(self, checkout_id: str) -> str:
        """The customer pays, and the webhook decides the outcome: the intent's id."""
        intent_id = self.intent_of(checkout_id)
        self.provider.pay(intent_id)
        self.records.decide(intent_id, checkout_id, self.stored(checkout_id).order_id, PaymentOutcome.SUCCEEDED)
        return intent_id

    def stored(self, checkout_id: str) -> Checkout:
        checkout = self.checkouts.get(checkout_id)
        assert checkout is not None
        return checkout

    def intent_of(self, checkout_id: str) -> str:
        payment = self.stored(checkout_id).payment
        assert payment is not None
        return payment.intent_id

    def stock(self, sku: str) -> tuple[int, int]:
        record = self.ledger.skus[sku]
        return record.on_hand, record.reserved


@pytest.fixture
def shop() -> Shop:
    return Shop()


# ---------------------------------------------------------------------------------------------- happy path


def test_a_paid_checkout_completes_with_its_order_paid_stock_committed_and_cart_emptied(shop: Shop) -> None:
    # Given a queued checkout whose buyer's cart holds what was bought plus a line added since
    checkout = shop.checkout()
    guest = CartOwner.guest("sess-1")
    shop.carts.carts[guest] = Cart(guest, (CartLine("CUP-1", 3), CartLine("MUG-2", 1)), version=4)
    # When the workflow requests the payment
    token = shop.request(checkout.checkout_id)
    # Then the order exists unpaid, the intent holds the total, the token waits for it, the payment is shown
    awaiting = shop.stored(checkout.checkout_id)
    assert awaiting.status is CheckoutStatus.AWAITING_PAYMENT
    assert awaiting.payment is not None
    assert awaiting.payment.provider == "stripe"
    assert awaiting.payment.client_secret.startswith(awaiting.payment.intent_id)
    intent = shop.provider.intents[awaiting.payment.intent_id]
    assert (intent.amount, intent.metadata) == (
        Money(3300, "EUR"),
        {"checkout_id": checkout.checkout_id, "order_id": checkout.order_id},
    )
    assert get_order(shop.orders, checkout.order_id).status is OrderStatus.PENDING_PAYMENT
    record = shop.records.get(awaiting.payment.intent_id)
    assert record is not None
    assert record.task_token == token
    # When the customer pays and the workflow completes
    shop.paid(checkout.checkout_id)
    shop.complete(checkout.checkout_id)
    # Then the checkout is COMPLETED, the order PAID, the units left on-hand, the cart keeps only the extra cup
    assert shop.stored(checkout.checkout_id).status is CheckoutStatus.COMPLETED
    assert get_order(shop.orders, checkout.order_id).status is OrderStatus.PAID
    assert shop.stock("CUP-1") == (8, 0)
    assert shop.stock("MUG-2") == (9, 0)
    assert shop.carts.carts[guest].lines == (CartLine("CUP-1", 1),)
    # And OrderPlaced was published with what was bought
    assert shop.events.types() == [ORDER_PLACED]
    assert shop.events.published[0].detail["lines"] == [
        {"sku": "CUP-1", "quantity": 2},
        {"sku": "MUG-2", "quantity": 1},
    ]


def test_requesting_the_payment_again_reuses_the_order_and_intent_and_keeps_the_newest_token(shop: Shop) -> None:
    # Given a checkout whose payment was requested once
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    first = shop.stored(checkout.checkout_id)
    # When Step Functions runs the step again (a retry after a lost answer) with a new token
    second_token = shop.request(checkout.checkout_id)
    # Then there is still one intent and one order, the checkout did not move again, the new token waits
    assert len(shop.provider.intents) == 1
    assert shop.stored(checkout.checkout_id) == first
    record = shop.records.get(shop.intent_of(checkout.checkout_id))
    assert record is not None
    assert record.task_token == second_token


def test_a_provider_outage_leaves_the_checkout_processing_and_the_retry_creates_one_intent(shop: Shop) -> None:
    # Given a provider that fails the first request
    checkout = shop.checkout()
    shop.provider.failures.append(PaymentProviderUnavailable("503"))
    # When the step runs, Then it raises the retryable error with the checkout claimed but nothing shown
    with pytest.raises(PaymentProviderUnavailable):
        shop.request(checkout.checkout_id)
    assert shop.stored(checkout.checkout_id).status is CheckoutStatus.PROCESSING
    assert shop.stored(checkout.checkout_id).payment is None
    # When it is retried, Then the payment is requested once
    shop.request(checkout.checkout_id)
    assert shop.stored(checkout.checkout_id).status is CheckoutStatus.AWAITING_PAYMENT
    assert len(shop.provider.intents) == 1


def test_a_checkout_that_ended_before_its_workflow_started_is_left_alone(shop: Shop) -> None:
    # Given a checkout the upkeep expired while it was queued
    checkout = shop.checkout(status=CheckoutStatus.EXPIRED)
    # When its workflow starts late, Then it refuses without creating an order or an intent
    with pytest.raises(CheckoutClosed):
        shop.request(checkout.checkout_id)
    assert shop.provider.intents == {}
    assert shop.orders.get(checkout.order_id) is None
    # And its compensation changes nothing and is not a fault
    assert shop.compensate(checkout.checkout_id, "CheckoutClosed") is False
    assert shop.stored(checkout.checkout_id).status is CheckoutStatus.EXPIRED
    assert shop.events.published == []


def test_an_outcome_decided_between_two_attempts_is_passed_on_by_the_next_attempt(shop: Shop) -> None:
    # Given an attempt that stored its token, and a payment whose webhook came while that task was gone
    checkout = shop.checkout()
    old_token = shop.request(checkout.checkout_id)
    shop.tasks.close(old_token)  # the attempt failed after storing the token; Step Functions retries
    shop.paid(checkout.checkout_id)
    # When the retried attempt stores its new token
    new_token = shop.request(checkout.checkout_id)
    # Then it tells its own task that the payment succeeded
    [outcome] = shop.tasks.outcomes
    assert (outcome.token, outcome.succeeded) == (new_token, True)


def test_a_decline_decided_between_attempts_fails_the_next_attempt(shop: Shop) -> None:
    # Given a declined payment recorded while no task was waiting
    checkout = shop.checkout()
    shop.tasks.close(shop.request(checkout.checkout_id))
    intent_id = shop.intent_of(checkout.checkout_id)
    shop.records.decide(intent_id, checkout.checkout_id, checkout.order_id, PaymentOutcome.DECLINED)
    # When the step runs again, Then its task fails with PaymentDeclined
    new_token = shop.request(checkout.checkout_id)
    [outcome] = shop.tasks.outcomes
    assert (outcome.token, outcome.succeeded, outcome.error) == (new_token, False, PAYMENT_DECLINED_ERROR)


def test_completing_twice_changes_nothing_the_second_time(shop: Shop) -> None:
    # Given a completed checkout
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    shop.paid(checkout.checkout_id)
    shop.complete(checkout.checkout_id)
    # When the step runs again (its answer was lost)
    shop.complete(checkout.checkout_id)
    # Then nothing moves: one OrderPlaced, stock committed once
    assert shop.events.types() == [ORDER_PLACED]
    assert shop.stock("CUP-1") == (8, 0)


def test_an_unconfirmed_payment_never_completes_a_checkout(shop: Shop) -> None:
    # Given a checkout awaiting a payment nobody confirmed
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    # When the completion step runs anyway, Then it refuses and the order stays unpaid
    with pytest.raises(CheckoutCannotComplete):
        shop.complete(checkout.checkout_id)
    assert get_order(shop.orders, checkout.order_id).status is OrderStatus.PENDING_PAYMENT
    assert shop.stock("CUP-1") == (10, 2)


# ---------------------------------------------------------------------------------------------- compensation


def test_a_declined_payment_fails_the_checkout_and_gives_everything_back(shop: Shop) -> None:
    # Given a checkout awaiting payment
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    # When the payment is declined and the workflow compensates
    fault = shop.compensate(checkout.checkout_id, PAYMENT_DECLINED_ERROR, "Your card was declined.")
    # Then the checkout is FAILED with the reason, the stock is available again, the order CANCELLED
    failed = shop.stored(checkout.checkout_id)
    assert failed.status is CheckoutStatus.FAILED
    assert failed.failure is not None
    assert (failed.failure.code, failed.failure.message) == (FailureCode.PAYMENT_DECLINED, "Your card was declined.")
    assert shop.stock("CUP-1") == (10, 0)
    assert get_order(shop.orders, checkout.order_id).status is OrderStatus.CANCELLED
    # And nobody can pay the intent any more, nothing was refunded, PaymentFailed was published, no fault
    assert shop.provider.intents[shop.intent_of(checkout.checkout_id)].status == "canceled"
    assert shop.provider.refunded() == []
    assert shop.events.types() == [PAYMENT_FAILED]
    assert fault is False


def test_a_payment_that_succeeded_as_the_wait_timed_out_is_refunded_and_the_checkout_expires(shop: Shop) -> None:
    # Given a checkout whose payment succeeded just as its wait timed out (the webhook decided SUCCEEDED)
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    intent_id = shop.paid(checkout.checkout_id)
    # When the workflow compensates the timeout, twice (a retried step)
    shop.compensate(checkout.checkout_id, "States.Timeout")
    shop.compensate(checkout.checkout_id, "States.Timeout")
    # Then the checkout is EXPIRED, the payment refunded once, the stock back, the order CANCELLED
    expired = shop.stored(checkout.checkout_id)
    assert expired.status is CheckoutStatus.EXPIRED
    assert expired.failure is not None
    assert expired.failure.code is FailureCode.PAYMENT_TIMEOUT
    assert shop.provider.refunded() == [intent_id]
    assert shop.provider.calls.count("refund") == 1
    assert shop.stock("CUP-1") == (10, 0)
    assert get_order(shop.orders, checkout.order_id).status is OrderStatus.CANCELLED
    # And the events say so (CheckoutExpired at least once)
    assert "PaymentRefunded" in shop.events.types()
    assert CHECKOUT_EXPIRED in shop.events.types()


def test_a_payment_made_while_compensating_is_refunded_even_before_its_webhook(shop: Shop) -> None:
    # Given a checkout whose intent the customer paid, but whose webhook has not been handled yet
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    intent_id = shop.intent_of(checkout.checkout_id)
    shop.provider.pay(intent_id)
    # When the timeout is compensated: the intent cannot be cancelled any more
    shop.compensate(checkout.checkout_id, "States.Timeout")
    # Then it is refunded, and the record is CLOSED so that the late webhook refunds nothing twice
    assert shop.provider.refunded() == [intent_id]
    record = shop.records.get(intent_id)
    assert record is not None
    assert (record.outcome, record.refunded) == (PaymentOutcome.CLOSED, True)


def test_a_completion_that_fails_after_committing_is_refunded_and_restocked_once(shop: Shop) -> None:
    # Given a paid checkout whose order was marked PAID and stock committed, then the step failed for good
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    shop.paid(checkout.checkout_id)
    shop.complete(checkout.checkout_id)
    shop.checkouts.records[checkout.checkout_id] = replace(
        shop.stored(checkout.checkout_id), status=CheckoutStatus.AWAITING_PAYMENT
    )  # as if the final status write had never happened
    # When the workflow compensates, twice
    for _ in range(2):
        assert shop.compensate(checkout.checkout_id, "Sandbox.Timedout") is True
    # Then the money went back once, the units went back on the shelf once, the order is CANCELLED
    assert shop.provider.calls.count("refund") == 1
    assert shop.stock("CUP-1") == (10, 0)
    assert get_order(shop.orders, checkout.order_id).status is OrderStatus.CANCELLED
    failed = shop.stored(checkout.checkout_id)
    assert failed.status is CheckoutStatus.FAILED
    assert failed.failure is not None
    assert failed.failure.code is FailureCode.INTERNAL


def test_a_failure_before_any_payment_releases_the_stock_and_records_the_provider_outage(shop: Shop) -> None:
    # Given a checkout whose payment could never be requested (the provider stayed down)
    checkout = shop.checkout()
    shop.provider.failures.extend(PaymentProviderUnavailable("503") for _ in range(5))
    with pytest.raises(PaymentProviderUnavailable):
        shop.request(checkout.checkout_id)
    # When the workflow compensates after its retries, Then the stock is back and the reason recorded
    assert shop.compensate(checkout.checkout_id, "PaymentProviderUnavailable") is True
    failed = shop.stored(checkout.checkout_id)
    assert failed.failure is not None
    assert failed.failure.code is FailureCode.PAYMENT_PROVIDER_UNAVAILABLE
    assert shop.stock("CUP-1") == (10, 0)
    assert get_order(shop.orders, checkout.order_id).status is OrderStatus.CANCELLED


def test_a_provider_outage_does_not_hold_up_the_compensation(shop: Shop) -> None:
    # Given a checkout awaiting payment, and a provider that cannot cancel its intent right now
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    shop.provider.failures.append(PaymentProviderUnavailable("503"))
    # When the timeout is compensated, Then the stock, the order and the checkout are settled all the same
    shop.compensate(checkout.checkout_id, "States.Timeout")
    assert shop.stored(checkout.checkout_id).status is CheckoutStatus.EXPIRED
    assert shop.stock("CUP-1") == (10, 0)
    assert get_order(shop.orders, checkout.order_id).status is OrderStatus.CANCELLED
    # And the payment is CLOSED: should it go through after all, its webhook refunds it
    record = shop.records.get(shop.intent_of(checkout.checkout_id))
    assert record is not None
    assert record.outcome is PaymentOutcome.CLOSED


def test_a_completed_checkout_is_never_compensated(shop: Shop) -> None:
    # Given a completed checkout
    checkout = shop.checkout()
    shop.request(checkout.checkout_id)
    shop.paid(checkout.checkout_id)
    shop.complete(checkout.checkout_id)
    # When a compensation runs for it anyway, Then nothing changes
    assert shop.compensate(checkout.checkout_id, "States.Timeout") is False
    assert shop.stored(checkout.checkout_id).status is CheckoutStatus.COMPLETED
    assert shop.provider.refunded() == []
    assert get_order(shop.orders, checkout.order_id).status is OrderStatus.PAID


@pytest.mark.parametrize(
    ("error", "status", "code", "fault"),
    [
        (PAYMENT_DECLINED_ERROR, CheckoutStatus.FAILED, FailureCode.PAYMENT_DECLINED, False),
        ("States.Timeout", CheckoutStatus.EXPIRED, FailureCode.PAYMENT_TIMEOUT, False),
        ("PaymentProviderUnavailable", CheckoutStatus.FAILED, FailureCode.PAYMENT_PROVIDER_UNAVAILABLE, True),
        ("PaymentProviderRejected", CheckoutStatus.FAILED, FailureCode.PAYMENT_PROVIDER_UNAVAILABLE, True),
        ("Sandbox.Timedout", CheckoutStatus.FAILED, FailureCode.INTERNAL, True),
        ("CheckoutCannotComplete", CheckoutStatus.FAILED, FailureCode.INTERNAL, True),
    ],
)
def test_each_caught_error_ends_the_checkout_for_its_reason(
    error: str, status: CheckoutStatus, code: FailureCode, fault: bool
) -> None:
    # Given an error the state machine caught, When it is classified, Then status, code and fault follow
    decision = failure_for(error, "a cause")
    assert (decision.status, decision.failure.code, decision.fault) == (status, code, fault)
    # And only a decline passes the provider's message on to the customer
    assert (decision.failure.message == "a cause") is (error == PAYMENT_DECLINED_ERROR)


# ---------------------------------------------------------------------------------------------- the cart


def test_emptying_the_cart_retries_a_lost_race_and_never_fails_the_checkout() -> None:
    # Given a customer's cart holding what was bought, written concurrently once
    carts = InMemoryCarts()
    owner = CartOwner.customer("c-1")
    carts.carts[owner] = Cart(owner, (CartLine("CUP-1", 2),), version=1)
    carts.conflicts = 1
    bought = [OrderLine("CUP-1", "p", "Cup", 2, Money(1200, "EUR"))]
    # When the bought lines are removed, Then the second try empties it
    assert remove_bought_lines(carts, OrderOwner(customer_id="c-1"), bought, NOW, POLICY) is True
    assert carts.carts[owner].lines == ()
    # And a store that fails answers False instead of raising
    carts.broken = True
    assert remove_bought_lines(carts, OrderOwner(customer_id="c-1"), bought, NOW, POLICY) is False
