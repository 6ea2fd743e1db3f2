"""The checkout workflow's three steps (statemachines/checkout.asl.json), each safe to run again.

    RequestPayment  claim the checkout (QUEUED -> PROCESSING), create its order, create the payment intent
                    (idempotency key from the checkout id), store the task token on the payment record, expose
                    the payment (-> AWAITING_PAYMENT); the workflow then waits for the webhook's callback.
    Complete        the order PAID, the reservation committed, the bought lines out of the cart, `OrderPlaced`
                    published, the checkout COMPLETED.
    Compensate      whatever failed: the payment closed (cancelled, or refunded if it went through anyway), the
                    stock returned, the order CANCELLED, the checkout FAILED or EXPIRED with its reason, and
                    `PaymentFailed` / `CheckoutExpired` published. A checkout the buyer cancelled (cancel.py,
                    which reuses these pieces) is already CANCELLED: only the idempotent undoing is repeated.

Step Functions retries steps and the provider repeats webhooks, so every step checks where the checkout,
order, reservation and payment record already are and does only what is left. Events are published at
least once (before the status write that ends a step), so consumers deduplicate them by `checkoutId`.
Error class names are part of the contract with the state machine, which retries or catches by name;
`FAILURES` decides, by error class, how a caught error ends the checkout (`ERRORS_BY_NAME` reads the names back).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from commerce.domain.carts.errors import CartVersionConflict
from commerce.domain.carts.models import CartLine, CartOwner
from commerce.domain.carts.service import CartStore
from commerce.domain.checkout.errors import (
    CheckoutCancelled,
    CheckoutCannotComplete,
    CheckoutChanged,
    CheckoutClosed,
    CheckoutMissing,
    PaymentTimedOut,
)
from commerce.domain.checkout.models import Checkout, CheckoutStatus, Failure, FailureCode, Payment
from commerce.domain.checkout.ports import CheckoutRepository
from commerce.domain.clock import Clock, utc_now
from commerce.domain.errors import CommerceError
from commerce.domain.events import CHECKOUT_CANCELLED, CHECKOUT_EXPIRED, ORDER_PLACED, PAYMENT_FAILED
from commerce.domain.inventory.errors import ReservationClosed, ReservationNotFound
from commerce.domain.inventory.models import ReservationLine
from commerce.domain.inventory.ports import StockLedger
from commerce.domain.inventory.service import commit_reservation, release_reservation
from commerce.domain.orders.errors import InvalidTransition, OrderNotFound
from commerce.domain.orders.models import NewOrder, Order, OrderAction, OrderLine, OrderOwner
from commerce.domain.orders.ports import OrderRepository
from commerce.domain.orders.service import apply_action, create_order, mark_order_paid
from commerce.domain.payments.closing import cancel_closed_intent
from commerce.domain.payments.errors import PaymentDeclined, PaymentProviderRejected, PaymentProviderUnavailable
from commerce.domain.payments.models import (
    PAYMENT_DECLINED_ERROR,
    PROVIDER,
    IntentState,
    PaymentOutcome,
    PaymentRecord,
    intent_idempotency_key,
)
from commerce.domain.payments.ports import DomainEvents, PaymentProvider, PaymentRecords, TaskTokens
from commerce.domain.payments.refunds import refund_unused_payment
from commerce.domain.payments.webhooks import DECLINED_MESSAGE
from commerce.domain.sessions.models import SessionPolicy

# The error a cancel fails the waiting payment task with (POST /checkouts/{id}/cancel, see cancel.py).
CHECKOUT_CANCELLED_ERROR = CheckoutCancelled.__name__
CANCELLED_BY_BUYER = Failure(FailureCode.CANCELLED, "The checkout was cancelled by the buyer.")
ACTOR = "checkout"
MAX_CHECKOUT_WRITES = 5
MAX_CART_WRITES = 3
MAX_MESSAGE_LENGTH = 500


# ---------------------------------------------------------------------------------------------- step 1


@dataclass(frozen=True)
class PaymentRequested:
    checkout: Checkout
    record: PaymentRecord


def request_payment(
    *,
    checkout_id: str,
    task_token: str,
    checkouts: CheckoutRepository,
    orders: OrderRepository,
    provider: PaymentProvider,
    records: PaymentRecords,
    tasks: TaskTokens,
    clock: Clock = utc_now,
) -> PaymentRequested:
    checkout = _load(checkouts, checkout_id)
    if checkout.status.final:
        raise CheckoutClosed(f"Checkout {checkout_id} is already {checkout.status}")
    if checkout.status is CheckoutStatus.QUEUED:
        # Claimed before anything else: the upkeep that expires never-started checkouts can no longer win.
        checkout = move_checkout(checkouts, checkout, CheckoutStatus.PROCESSING, clock)
    create_order(orders, new_order_of(checkout))
    payment = checkout.payment
    if payment is None:
        intent = provider.create_intent(
            checkout.total,
            {"checkout_id": checkout.checkout_id, "order_id": checkout.order_id},
            intent_idempotency_key(checkout.checkout_id),
        )
        payment = Payment(PROVIDER, intent.intent_id, intent.client_secret)
    # The token is stored before the client secret is shown: nobody can pay an intent nobody waits for.
    record = records.store_task(payment.intent_id, checkout.checkout_id, checkout.order_id, task_token)
    if record.outcome is PaymentOutcome.CLOSED:
        raise CheckoutClosed(f"The payment of checkout {checkout_id} was closed")
    if checkout.status is not CheckoutStatus.AWAITING_PAYMENT:
        checkout = move_checkout(checkouts, checkout, CheckoutStatus.AWAITING_PAYMENT, clock, payment=payment)
    # An outcome decided while no task was waiting (a webhook between two attempts of this step) goes on now.
    if record.outcome is PaymentOutcome.SUCCEEDED:
        tasks.succeed(task_token, {"intentId": record.intent_id})
    elif record.outcome is PaymentOutcome.DECLINED:
        tasks.fail(task_token, PAYMENT_DECLINED_ERROR, DECLINED_MESSAGE)
    return PaymentRequested(checkout, record)


def new_order_of(checkout: Checkout) -> NewOrder:
    created_at = checkout.created_at.astimezone(UTC)
    return NewOrder(
        order_id=checkout.order_id,
        checkout_id=checkout.checkout_id,
        owner=checkout.owner,
        email=checkout.email,
        lines=checkout.lines,
        shipping_address=checkout.shipping_address,
        # Orders keep milliseconds, as the API shows them.
        created_at=created_at.replace(microsecond=created_at.microsecond - created_at.microsecond % 1000),
        actor=ACTOR,
    )


# ---------------------------------------------------------------------------------------------- step 2


@dataclass(frozen=True)
class Completed:
    checkout: Checkout
    order: Order | None  # None when a previous run completed it
    cart_emptied: bool


def complete_checkout(
    *,
    checkout_id: str,
    checkouts: CheckoutRepository,
    orders: OrderRepository,
    ledger: StockLedger,
    records: PaymentRecords,
    events: DomainEvents,
    carts: CartStore,
    session_policy: SessionPolicy,
    clock: Clock = utc_now,
) -> Completed:
    checkout = _load(checkouts, checkout_id)
    if checkout.status is CheckoutStatus.COMPLETED:
        return Completed(checkout, None, cart_emptied=False)
    payment = checkout.payment
    if checkout.status is not CheckoutStatus.AWAITING_PAYMENT or payment is None:
        raise CheckoutCannotComplete(f"Checkout {checkout_id} is {checkout.status}; it cannot complete")
    record = records.get(payment.intent_id)
    if record is None or record.outcome is not PaymentOutcome.SUCCEEDED:
        # Only a payment the provider confirmed (and nobody closed) ever makes an order PAID.
        raise CheckoutCannotComplete(f"The payment of checkout {checkout_id} is not confirmed")
    try:
        order = mark_order_paid(
            orders,
            checkout.order_id,
            {"provider": payment.provider, "intentId": payment.intent_id, "amount": checkout.total.to_json()},
        )
        commit_reservation(ledger, checkout.checkout_id)
    except (InvalidTransition, OrderNotFound, ReservationClosed, ReservationNotFound) as error:
        raise CheckoutCannotComplete(f"Checkout {checkout_id} cannot complete: {error.detail}") from error
    emptied = remove_bought_lines(carts, checkout.owner, checkout.lines, clock(), session_policy)
    events.publish(ORDER_PLACED, order_placed(checkout))
    checkout = move_checkout(checkouts, checkout, CheckoutStatus.COMPLETED, clock)
    return Completed(checkout, order, cart_emptied=emptied)


def order_placed(checkout: Checkout) -> dict[str, Any]:
    return {
        "checkoutId": checkout.checkout_id,
        "orderId": checkout.order_id,
        "customerId": checkout.owner.customer_id,
        "total": checkout.total.to_json(),
        "lines": [{"sku": line.sku, "quantity": line.quantity} for line in checkout.lines],
    }


def remove_bought_lines(
    carts: CartStore, owner: OrderOwner, bought: Sequence[OrderLine], now: datetime, policy: SessionPolicy
) -> bool:
    """Take what was bought out of the buyer's cart, leaving what was added since. Best effort: a cart that
    keeps changing, or any failure, leaves the cart as it is, and never fails the checkout."""
    cart_owner = CartOwner.customer(owner.customer_id) if owner.customer_id else CartOwner.guest(str(owner.session_id))
    expires_at = policy.expiry_from(now) if owner.customer_id is None else None
    try:
        for _ in range(MAX_CART_WRITES):
            cart = carts.load_cart(cart_owner)
            remaining = _without(cart.lines, bought)
            if remaining == cart.lines:
                return True
            try:
                carts.save(replace(cart, lines=remaining, updated_at=now), expires_at)
                return True
            except CartVersionConflict:
                continue
    except Exception:  # emptying the cart is a courtesy: the order is placed whatever happens to it
        return False
    return False


def _without(lines: tuple[CartLine, ...], bought: Sequence[OrderLine]) -> tuple[CartLine, ...]:
    taken = {line.sku: line.quantity for line in bought}
    kept = (CartLine(line.sku, line.quantity - taken.get(line.sku, 0)) for line in lines)
    return tuple(line for line in kept if line.quantity > 0)


# ---------------------------------------------------------------------------------------------- step 3


@dataclass(frozen=True)
class FailureDecision:
    """How a caught error ends the checkout. `fault` marks failures that are ours or our provider's (not the
    customer's): the execution then ends FAILED, which the failed-executions alarm watches."""

    status: CheckoutStatus
    failure: Failure
    event: str
    fault: bool


FAILURES: dict[type[CommerceError], FailureDecision] = {
    PaymentDeclined: FailureDecision(
        CheckoutStatus.FAILED, Failure(FailureCode.PAYMENT_DECLINED, DECLINED_MESSAGE), PAYMENT_FAILED, fault=False
    ),
    # Cancelled by the buyer (who did the undoing); compensation finds it CANCELLED and repeats only what is
    # idempotent.
    CheckoutCancelled: FailureDecision(CheckoutStatus.CANCELLED, CANCELLED_BY_BUYER, CHECKOUT_CANCELLED, fault=False),
    PaymentTimedOut: FailureDecision(
        CheckoutStatus.EXPIRED,
        Failure(FailureCode.PAYMENT_TIMEOUT, "The payment was not completed in time."),
        CHECKOUT_EXPIRED,
        fault=False,
    ),
    # Ended before (say, expired by the upkeep before its workflow started): recorded there, not here.
    CheckoutClosed: FailureDecision(
        CheckoutStatus.FAILED,
        Failure(FailureCode.INTERNAL, "The checkout was closed before it could be processed."),
        PAYMENT_FAILED,
        fault=False,
    ),
    **dict.fromkeys(
        (PaymentProviderUnavailable, PaymentProviderRejected),
        FailureDecision(
            CheckoutStatus.FAILED,
            Failure(FailureCode.PAYMENT_PROVIDER_UNAVAILABLE, "The payment provider could not take the payment."),
            PAYMENT_FAILED,
            fault=True,
        ),
    ),
}
"""How each error the state machine can catch ends the checkout; any other error is `UNEXPECTED`."""

UNEXPECTED = FailureDecision(
    CheckoutStatus.FAILED,
    Failure(FailureCode.INTERNAL, "The checkout could not be completed."),
    PAYMENT_FAILED,
    fault=True,
)

# The one place where the names Step Functions reports turn back into classes: a Lambda error is named after
# its class, the task timeout is `States.Timeout`.
ERRORS_BY_NAME: dict[str, type[CommerceError]] = {
    getattr(error, "STATES_NAME", error.__name__): error
    for error in (*FAILURES, CheckoutCannotComplete, CheckoutMissing)
}


def failure_for(error: str, cause: str | None) -> FailureDecision:
    """The decision for the error the state machine caught (by name) with its cause. Only a decline passes
    the cause (the provider's message) on to the customer."""
    error_class = ERRORS_BY_NAME.get(error)
    decision = FAILURES.get(error_class, UNEXPECTED) if error_class else UNEXPECTED
    if error_class is PaymentDeclined and cause:
        return replace(decision, failure=Failure(decision.failure.code, cause[:MAX_MESSAGE_LENGTH]))
    return decision


@dataclass(frozen=True)
class Compensated:
    checkout: Checkout | None
    decision: FailureDecision
    refunded: bool
    published: bool

    @property
    def fault(self) -> bool:
        """Whether the execution should end FAILED: our (or our provider's) failure, or a checkout that ended
        for some other reason than the one this compensation was asked to record."""
        checkout = self.checkout
        if checkout is None:
            return True
        if checkout.status is CheckoutStatus.COMPLETED:
            return False
        return self.decision.fault


def compensate_checkout(
    *,
    checkout_id: str,
    error: str,
    cause: str | None,
    checkouts: CheckoutRepository,
    orders: OrderRepository,
    ledger: StockLedger,
    provider: PaymentProvider,
    records: PaymentRecords,
    events: DomainEvents,
    clock: Clock = utc_now,
) -> Compensated:
    decision = failure_for(error, cause)
    checkout = checkouts.get(checkout_id)
    if checkout is None or checkout.status is CheckoutStatus.COMPLETED:
        return Compensated(checkout, decision, refunded=False, published=False)
    refunded = close_payment(checkout, provider, records, events) if checkout.payment else False
    return_stock(checkout, ledger, records)
    cancel_order(checkout, orders, decision.failure.code, refunded)
    if not checkout.status.final:
        try:
            checkout = move_checkout(checkouts, checkout, decision.status, clock, failure=decision.failure)
        except CheckoutClosed:
            checkout = _load(checkouts, checkout_id)
    # Published whenever the checkout ended as this compensation decided (again, if an earlier attempt
    # stopped after the status write): at least once.
    published = checkout.status is decision.status and checkout.failure == decision.failure
    if published:
        events.publish(decision.event, _failure_detail(checkout))
    return Compensated(checkout, decision, refunded=refunded, published=published)


def close_payment(checkout: Checkout, provider: PaymentProvider, records: PaymentRecords, events: DomainEvents) -> bool:
    """Make sure nobody can pay any more, and give back what was paid. True when a refund was made."""
    assert checkout.payment is not None
    record = records.decide(checkout.payment.intent_id, checkout.checkout_id, checkout.order_id, PaymentOutcome.CLOSED)
    if record.outcome is PaymentOutcome.SUCCEEDED:
        refund_unused_payment(provider, records, events, record, reason="checkout failed after payment")
        return True
    try:
        return cancel_closed_intent(provider, records, events, record) is not IntentState.CANCELED
    except (PaymentProviderUnavailable, PaymentProviderRejected):
        # The outcome is CLOSED whatever the provider says, and the record stays listed as awaiting its
        # cancel: the upkeep cancels it later (payments.closing), and a payment that still goes through is
        # refunded by its webhook. The stock and the order need not wait for the provider.
        return False


def return_stock(checkout: Checkout, ledger: StockLedger, records: PaymentRecords) -> None:
    try:
        release_reservation(ledger, checkout.checkout_id)
    except ReservationNotFound:
        return  # nothing was reserved under this id
    except ReservationClosed:
        # Committed by a completion that failed afterwards: the units left on-hand; put them back, once.
        if checkout.payment is not None:
            records.restock(
                checkout.payment.intent_id, checkout.checkout_id, checkout.order_id, _reservation_lines(checkout)
            )


def cancel_order(checkout: Checkout, orders: OrderRepository, reason: FailureCode, refunded: bool) -> None:
    detail: dict[str, Any] = {"reason": reason.value, "checkoutId": checkout.checkout_id}
    if refunded and checkout.payment is not None:
        detail.update(intentId=checkout.payment.intent_id, refunded=True)
    try:
        apply_action(orders, checkout.order_id, OrderAction.CANCEL, ACTOR, detail=detail, idempotent=True)
    except OrderNotFound:
        return  # the workflow failed before it created the order
    except InvalidTransition:
        return  # fulfilled or refunded by an operator meanwhile: theirs to settle


def _failure_detail(checkout: Checkout) -> dict[str, Any]:
    failure = checkout.failure
    return {
        "checkoutId": checkout.checkout_id,
        "orderId": checkout.order_id,
        "status": checkout.status.value,
        "code": failure.code.value if failure else None,
        "message": failure.message if failure else None,
    }


def _reservation_lines(checkout: Checkout) -> tuple[ReservationLine, ...]:
    return tuple(ReservationLine(sku=line.sku, quantity=line.quantity) for line in checkout.lines)


# ---------------------------------------------------------------------------------------------- shared


def move_checkout(
    checkouts: CheckoutRepository,
    checkout: Checkout,
    target: CheckoutStatus,
    clock: Clock,
    *,
    payment: Payment | None = None,
    failure: Failure | None = None,
) -> Checkout:
    """`checkout` moved to `target` (a no-op when it is there already), written only over the version read;
    a lost race is read again and decided again. CheckoutClosed when it can no longer move there."""
    for _ in range(MAX_CHECKOUT_WRITES):
        if checkout.status is target:
            return checkout
        if not checkout.status.may_become(target):
            raise CheckoutClosed(f"Checkout {checkout.checkout_id} is {checkout.status}; it cannot become {target}")
        moved = checkout.moved_to(target, clock(), payment=payment, failure=failure)
        try:
            return checkouts.replace(moved, expected_version=checkout.version)
        except CheckoutChanged:
            checkout = _load(checkouts, checkout.checkout_id)
    raise CheckoutChanged(f"Checkout {checkout.checkout_id} kept changing concurrently")


def _load(checkouts: CheckoutRepository, checkout_id: str) -> Checkout:
    checkout = checkouts.get(checkout_id)
    if checkout is None:
        raise CheckoutMissing(f"There is no checkout {checkout_id!r}")
    return checkout
