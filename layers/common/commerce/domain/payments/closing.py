"""Cancelling the intents whose payment was closed, until the provider confirms it.

A payment's outcome is decided CLOSED when its checkout fails, expires or is cancelled (a DECLINED one keeps
its outcome, but its intent is closed the same way: a declined intent can still be paid): from then on nobody
may pay the intent, and it is cancelled at the provider. That cancel can fail: the provider is down (the
compensation does not wait for it, so the stock and the order are not held up), or the function dies right
after the decision. The intent would stay payable beside a checkout that failed; a customer who pays it is
charged for nothing until the webhook refunds them.

So the decision itself lists the record as awaiting its cancel (one write: `PaymentRecords.decide`), and
only the provider's confirmation takes it off the list (`intent_closed`, or the refund's record). The upkeep
(`cancel_closed_intents`) takes the listed records in turn, a bounded number per run: each intent is
cancelled, or refunded once if the customer paid it meanwhile (its refund key is per order: a repeat refunds
nothing more). A run beside a compensation doing the same does no harm: cancelling a cancelled intent is
fine. One the provider cannot answer for stays listed for the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from commerce.domain.operations.upkeep import RepairReport, repair_each
from commerce.domain.payments.models import IntentState, PaymentRecord
from commerce.domain.payments.ports import DomainEvents, PaymentProvider, PaymentRecords
from commerce.domain.payments.refunds import refund_unused_payment


class Repair(StrEnum):
    """Kinds of repair, as counted by `ReconciliationRepairs` and listed by GET /admin/upkeep."""

    CANCELLED = "closedIntentsCancelled"  # the cancel had failed: the intent is cancelled now
    REFUNDED = "closedIntentsRefunded"  # it had been paid meanwhile: refunded once


class ClosedIntents(Protocol):
    def closed_before(self, moment: datetime, limit: int) -> Sequence[str]:
        """Ids of intents decided CLOSED before `moment` and still awaiting their cancel, about `limit` at most,
        oldest first. May lag behind the records (an index): the job re-reads each one."""
        ...


def cancel_closed_intent(
    provider: PaymentProvider, records: PaymentRecords, events: DomainEvents, record: PaymentRecord
) -> IntentState:
    """Make sure nobody can pay the CLOSED record's intent: cancelled, or refunded when it had been paid
    (SUCCEEDED). Raises what the provider raises, and the record then stays listed."""
    state = provider.cancel_intent(record.intent_id)
    if state is IntentState.SUCCEEDED:
        # Paid in the last moment, its webhook not handled yet (it will find the outcome CLOSED).
        refund_unused_payment(provider, records, events, record, reason="paid after the checkout closed")
    records.intent_closed(record.intent_id)
    return state


def cancel_closed_intents(
    intents: ClosedIntents,
    records: PaymentRecords,
    provider: PaymentProvider,
    events: DomainEvents,
    *,
    now: datetime,
    limit: int,
) -> RepairReport[Repair]:
    return repair_each(
        intents.closed_before(now, limit),
        (Repair.CANCELLED, Repair.REFUNDED),
        lambda intent_id: cancel_if_awaiting(records, provider, events, intent_id),
    )


def cancel_if_awaiting(
    records: PaymentRecords, provider: PaymentProvider, events: DomainEvents, intent_id: str
) -> Repair | None:
    record = records.get(intent_id)
    if record is None or not record.awaiting_cancel:
        return None  # the index lagged behind a cancel that was confirmed
    state = cancel_closed_intent(provider, records, events, record)
    return Repair.REFUNDED if state is IntentState.SUCCEEDED else Repair.CANCELLED
