"""What payments need from the outside world. Adapters implement these; tests use in-memory fakes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from commerce.domain.inventory.models import ReservationLine
from commerce.domain.money import Money
from commerce.domain.payments.models import IntentState, PaymentIntent, PaymentOutcome, PaymentRecord, Refund


class CheckoutPayment(Protocol):
    """The payment a checkout holds, as far as payments read it."""

    @property
    def intent_id(self) -> str: ...


class PayingCheckout(Protocol):
    """A checkout, as far as payments read it (`commerce.domain.checkout.models.Checkout` is one)."""

    @property
    def checkout_id(self) -> str: ...

    @property
    def order_id(self) -> str: ...

    @property
    def payment(self) -> CheckoutPayment | None: ...


class Checkouts(Protocol):
    """Reading checkouts: payments find the checkout an intent or an order belongs to. Declared here, not in
    the checkout package, so that payments never import checkout (checkout's workflow imports payments);
    `commerce.domain.checkout.ports.CheckoutRepository` satisfies it."""

    def get(self, checkout_id: str) -> PayingCheckout | None: ...


class PaymentProvider(Protocol):
    """The payment provider (Stripe). Every call raises PaymentProviderUnavailable (worth retrying with the
    same idempotency key) or PaymentProviderRejected (not worth retrying)."""

    def create_intent(self, amount: Money, metadata: Mapping[str, str], idempotency_key: str) -> PaymentIntent: ...

    def cancel_intent(self, intent_id: str) -> IntentState:
        """Cancel an intent nobody may pay any more; cancelling a cancelled one is fine. SUCCEEDED when it had
        been paid already (it cannot be cancelled then: refund it instead)."""
        ...

    def refund(self, intent_id: str, metadata: Mapping[str, str], idempotency_key: str) -> Refund:
        """Refund the intent's payment in full."""
        ...


class PaymentRecords(Protocol):
    """Payment records (see `models`), one per intent, changed only by conditional writes."""

    def get(self, intent_id: str) -> PaymentRecord | None: ...

    def store_task(self, intent_id: str, checkout_id: str, order_id: str, task_token: str) -> PaymentRecord:
        """Remember the task token now waiting for the intent (the newest one wins); the outcome is kept."""
        ...

    def decide(self, intent_id: str, checkout_id: str, order_id: str, outcome: PaymentOutcome) -> PaymentRecord:
        """Set the intent's outcome if none is set yet, creating the record if needed; return the record as
        stored, whose outcome may be one decided before. Deciding CLOSED on a record with no outcome or a
        DECLINED one (kept) lists it as awaiting its intent's cancel (`ClosedIntents` of `closing`)."""
        ...

    def record_refund(self, intent_id: str, checkout_id: str, order_id: str, refund: Refund) -> None:
        """Note on the intent's record that its payment was refunded (it no longer awaits a cancel)."""
        ...

    def intent_closed(self, intent_id: str) -> None:
        """Note that nobody can pay the intent any more (the provider confirmed it cancelled, or its payment was
        refunded before): it no longer awaits a cancel."""
        ...

    def restock(self, intent_id: str, checkout_id: str, order_id: str, lines: Sequence[ReservationLine]) -> bool:
        """Add the lines' units back to on-hand stock, at most once per intent. False when done before."""
        ...


class TaskTokens(Protocol):
    """Step Functions' callback API for `.waitForTaskToken` tasks."""

    def succeed(self, task_token: str, output: Mapping[str, Any]) -> bool:
        """False when the task is no longer open (it timed out, was closed, or the token is unknown)."""
        ...

    def fail(self, task_token: str, error: str, cause: str) -> bool:
        """False when the task is no longer open."""
        ...


class DomainEvents(Protocol):
    """Domain events on the event bus (`detail-type` = `detail_type`)."""

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None: ...


class WebhookLog(Protocol):
    """Provider events already handled, by event id (deduplication)."""

    def seen(self, event_id: str) -> bool: ...

    def remember(self, event_id: str, event_type: str) -> None: ...
