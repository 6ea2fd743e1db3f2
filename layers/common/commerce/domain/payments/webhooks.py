"""What a verified provider event changes. Duplicates, retries and any delivery order are safe.

- Deduplication by event id: an event already handled is answered at once. It is remembered only after
  its effect happened, so an event whose handling failed midway is handled again when the provider
  retries it (every effect below is idempotent, so a concurrent duplicate is harmless too).
- `payment_intent.succeeded` decides the intent's outcome SUCCEEDED, if nothing was decided before, and
  tells the waiting workflow task (SendTaskSuccess). If the task is gone (a retried step replaced it, or it
  timed out), the decision stands: the next workflow step that stores a token, or the compensation, acts on
  it. If the outcome was decided DECLINED or CLOSED before, the checkout will never use this payment, and
  it is refunded at once.
- `payment_intent.payment_failed` decides DECLINED, if nothing was decided before, and fails the waiting
  task (error `PaymentDeclined`). A failure that arrives after a success changes nothing.
- `payment_intent.canceled` is acknowledged: cancelling is something this backend does itself.
- `refund.failed`, and `charge.refund.updated` whose refund's status is `failed`: a refund the provider had
  accepted failed later; its order (from the refund's metadata, checked against the checkout's intent) moves
  to REFUND_FAILED with the provider's reason (commerce.domain.payments.refunds.record_failed_refund). Both
  events of one failure, duplicates and any order of arrival end in the same single RefundFailed event.
- Any other type, and intents that belong to no checkout of ours, are acknowledged and ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from commerce.domain.orders.ports import OrderRepository
from commerce.domain.payments.models import (
    HANDLED_EVENT_TYPES,
    PAYMENT_DECLINED_ERROR,
    REFUND_EVENT_TYPES,
    REFUND_STATUS_FAILED,
    PaymentEvent,
    PaymentEventType,
    PaymentOutcome,
    PaymentRecord,
)
from commerce.domain.payments.ports import (
    Checkouts,
    DomainEvents,
    PaymentProvider,
    PaymentRecords,
    TaskTokens,
    WebhookLog,
)
from commerce.domain.payments.refunds import record_failed_refund, refund_unused_payment

DECLINED_MESSAGE = "The payment was declined."


class WebhookResult(StrEnum):
    IGNORED = "IGNORED"  # a type we do not act on, or an intent that is not ours
    DUPLICATE = "DUPLICATE"  # handled before
    ACKNOWLEDGED = "ACKNOWLEDGED"  # nothing to change: a cancellation, or a failure after the outcome was decided
    FORWARDED = "FORWARDED"  # the waiting workflow task was told
    RECORDED = "RECORDED"  # the outcome is decided; the workflow acts on it at its next step
    REFUNDED = "REFUNDED"  # money the checkout will never use went back
    REFUND_FAILED = "REFUND_FAILED"  # a refund failed at the provider: its order is REFUND_FAILED


@dataclass(frozen=True)
class WebhookDeps:
    checkouts: Checkouts
    records: PaymentRecords
    tasks: TaskTokens
    provider: PaymentProvider
    events: DomainEvents
    log: WebhookLog
    orders: Callable[[], OrderRepository]  # built per invocation (its retry budget is the invocation's time left)


def handle_payment_event(deps: WebhookDeps, event: PaymentEvent) -> WebhookResult:
    if event.type not in HANDLED_EVENT_TYPES or not event.event_id:
        return WebhookResult.IGNORED
    if deps.log.seen(event.event_id):
        return WebhookResult.DUPLICATE
    result = _apply(deps, event)
    deps.log.remember(event.event_id, event.type)
    return result


def _apply(deps: WebhookDeps, event: PaymentEvent) -> WebhookResult:
    if event.type == PaymentEventType.CANCELED:
        return WebhookResult.ACKNOWLEDGED
    if event.type in REFUND_EVENT_TYPES:
        return _refund_event(deps, event)
    record = _record_of(deps, event)
    if record is None:
        return WebhookResult.IGNORED
    if event.type == PaymentEventType.SUCCEEDED:
        return _succeeded(deps, record, event)
    return _failed(deps, record, event)


def _succeeded(deps: WebhookDeps, record: PaymentRecord, event: PaymentEvent) -> WebhookResult:
    decided = deps.records.decide(record.intent_id, record.checkout_id, record.order_id, PaymentOutcome.SUCCEEDED)
    if decided.outcome is not PaymentOutcome.SUCCEEDED:
        refund_unused_payment(deps.provider, deps.records, deps.events, decided, reason=f"payment {decided.outcome}")
        return WebhookResult.REFUNDED
    if decided.task_token is None:
        return WebhookResult.RECORDED
    output = {"intentId": decided.intent_id, "eventId": event.event_id}
    return WebhookResult.FORWARDED if deps.tasks.succeed(decided.task_token, output) else WebhookResult.RECORDED


def _failed(deps: WebhookDeps, record: PaymentRecord, event: PaymentEvent) -> WebhookResult:
    decided = deps.records.decide(record.intent_id, record.checkout_id, record.order_id, PaymentOutcome.DECLINED)
    if decided.outcome is not PaymentOutcome.DECLINED:
        return WebhookResult.ACKNOWLEDGED  # a late failure: the payment succeeded, or the workflow gave up
    if decided.task_token is None:
        return WebhookResult.RECORDED
    cause = event.failure_message or DECLINED_MESSAGE
    if deps.tasks.fail(decided.task_token, PAYMENT_DECLINED_ERROR, cause):
        return WebhookResult.FORWARDED
    return WebhookResult.RECORDED


def _refund_event(deps: WebhookDeps, event: PaymentEvent) -> WebhookResult:
    if event.refund_status != REFUND_STATUS_FAILED:
        return WebhookResult.IGNORED  # a refund's other updates (pending, succeeded) change nothing here
    order = record_failed_refund(deps.orders(), deps.checkouts, event)
    return WebhookResult.IGNORED if order is None else WebhookResult.REFUND_FAILED


def _record_of(deps: WebhookDeps, event: PaymentEvent) -> PaymentRecord | None:
    """The intent's record, or a new one for an intent of one of our checkouts whose workflow has not
    stored its task token yet; None for an intent that is not ours."""
    if event.intent_id is None:
        return None
    record = deps.records.get(event.intent_id)
    if record is not None:
        return record
    if event.checkout_id is None or event.order_id is None:
        return None
    checkout = deps.checkouts.get(event.checkout_id)
    if checkout is None or checkout.order_id != event.order_id:
        return None
    if checkout.payment is not None and checkout.payment.intent_id != event.intent_id:
        return None
    return PaymentRecord(intent_id=event.intent_id, checkout_id=checkout.checkout_id, order_id=checkout.order_id)
