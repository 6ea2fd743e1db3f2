"""Payment intents, refunds, provider events and the payment record, as plain values.

The payment record (one per payment intent) is where the checkout workflow and the provider's webhooks
meet. It holds the Step Functions task token that waits for the intent, and the intent's *outcome*,
decided exactly once by whoever gets there first:

- `SUCCEEDED` (a `payment_intent.succeeded` event): the workflow completes the checkout;
- `DECLINED` (a `payment_intent.payment_failed` event): the workflow fails it;
- `CLOSED` (the workflow's compensation gave up on the payment): any money that still arrives is refunded.
  Until the provider confirmed the intent cancelled (or the payment refunded), the record stays listed as
  awaiting its cancel, so a cancel that failed is retried (`closing`).

Deciding once is what makes duplicate and out-of-order events, retried workflow steps and timeouts safe:
a success that loses to `DECLINED` or `CLOSED` is refunded, never completed; a failure that loses to
`SUCCEEDED` changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from commerce.domain.money import Money
from commerce.domain.payments.errors import PaymentDeclined

PROVIDER = "stripe"


class PaymentOutcome(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    DECLINED = "DECLINED"
    CLOSED = "CLOSED"


class PaymentEventType(StrEnum):
    """The provider events this backend acts on; every other type is acknowledged and ignored."""

    SUCCEEDED = "payment_intent.succeeded"
    FAILED = "payment_intent.payment_failed"
    CANCELED = "payment_intent.canceled"
    # A refund the provider had accepted failed later (the card was closed, ...): Stripe sends both.
    REFUND_FAILED = "refund.failed"
    REFUND_UPDATED = "charge.refund.updated"


HANDLED_EVENT_TYPES: tuple[str, ...] = tuple(t.value for t in PaymentEventType)
REFUND_EVENT_TYPES = frozenset({PaymentEventType.REFUND_FAILED, PaymentEventType.REFUND_UPDATED})
REFUND_STATUS_FAILED = "failed"

# The error name a declined payment fails the waiting workflow task with (the state machine catches it).
PAYMENT_DECLINED_ERROR = PaymentDeclined.__name__


def intent_idempotency_key(checkout_id: str) -> str:
    """One payment intent per checkout, however often the workflow step runs."""
    return f"payment-intent-{checkout_id}"


def refund_idempotency_key(order_id: str) -> str:
    """One refund per order, whoever asks for it (an operator, a late payment, a compensation)."""
    return f"refund-{order_id}"


@dataclass(frozen=True)
class PaymentIntent:
    intent_id: str
    client_secret: str
    amount: Money


@dataclass(frozen=True)
class Refund:
    """A refund the provider accepted. `refund_id` is None when it answered that the charge had already been
    refunded in full (a refund requested again after its idempotency key expired)."""

    refund_id: str | None
    intent_id: str

    def to_json(self) -> dict[str, Any]:
        return {"refundId": self.refund_id, "intentId": self.intent_id}


class IntentState(StrEnum):
    """What cancelling an intent found: it is (now) cancelled, or the customer had already paid it."""

    CANCELED = "CANCELED"
    SUCCEEDED = "SUCCEEDED"


@dataclass(frozen=True)
class PaymentRecord:
    intent_id: str
    checkout_id: str
    order_id: str
    task_token: str | None = None
    outcome: PaymentOutcome | None = None
    refund_id: str | None = None
    refunded: bool = False
    restocked: bool = False
    # CLOSED and not yet known cancelled at the provider (nor refunded): the upkeep cancels it (closing.py).
    awaiting_cancel: bool = False


@dataclass(frozen=True)
class PaymentEvent:
    """The parts of a provider event this backend reads. `checkout_id` and `order_id` come from the intent's
    metadata, which the workflow set when it created the intent (or the refund's, set by whoever refunded).
    For a refund's event, `intent_id` is the refunded intent, `refund_id` and `refund_status` the refund's, and
    `failure_message` its `failure_reason`."""

    event_id: str
    type: str
    intent_id: str | None
    checkout_id: str | None
    order_id: str | None
    failure_message: str | None = None
    refund_id: str | None = None
    refund_status: str | None = None

    @classmethod
    def from_stripe(cls, event: Mapping[str, Any]) -> PaymentEvent:
        """From a Stripe event (as a plain dict); fields it lacks are None, never an error."""
        data = event.get("data")
        obj = data.get("object") if isinstance(data, Mapping) else None
        obj = obj if isinstance(obj, Mapping) else {}
        metadata = obj.get("metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        error = obj.get("last_payment_error")
        message = error.get("message") if isinstance(error, Mapping) else None
        is_intent = obj.get("object") == "payment_intent"
        is_refund = obj.get("object") == "refund"
        return cls(
            event_id=str(event.get("id") or ""),
            type=str(event.get("type") or ""),
            intent_id=_text(obj.get("id")) if is_intent else _text(obj.get("payment_intent")) if is_refund else None,
            checkout_id=_text(metadata.get("checkout_id")),
            order_id=_text(metadata.get("order_id")),
            failure_message=_text(obj.get("failure_reason")) if is_refund else _text(message),
            refund_id=_text(obj.get("id")) if is_refund else None,
            refund_status=_text(obj.get("status")) if is_refund else None,
        )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
