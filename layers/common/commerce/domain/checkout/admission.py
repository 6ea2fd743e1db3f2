"""Admission: how an accepted checkout reaches its workflow, at a rate the workflow can take.

`POST /checkouts` puts a message naming the checkout on the checkout queue (`CheckoutQueue`); a consumer
with bounded concurrency starts one workflow execution per message (`admit_checkout`). The execution is
named after the checkout, so a message delivered twice, re-sent by a retried request or redriven from the
dead-letter queue starts nothing new: exactly one execution per checkout, whatever the queue does.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class CheckoutQueue(Protocol):
    def depth(self) -> int:
        """About how many messages wait to be admitted (SQS: ApproximateNumberOfMessages)."""
        ...

    def enqueue(self, checkout_id: str) -> None:
        """Queue the checkout for admission. Sending one twice is harmless (see module docstring)."""
        ...


class ExecutionState(StrEnum):
    """A workflow execution's status, as Step Functions names it."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"
    PENDING_REDRIVE = "PENDING_REDRIVE"

    @property
    def ended(self) -> bool:
        # PENDING_REDRIVE is a failed execution that an operator may still redrive: not ended for our purposes.
        return self not in (ExecutionState.RUNNING, ExecutionState.PENDING_REDRIVE)


class CheckoutWorkflow(Protocol):
    def start(self, checkout_id: str) -> bool:
        """Start the checkout's execution (named after it); False if an execution of that name already existed.

        (Step Functions answers a repeated start of a *running* execution with the same input like a start.)
        """
        ...

    def state(self, checkout_id: str) -> ExecutionState | None:
        """The state of the checkout's execution, or None if it was never started."""
        ...


def checkout_message(checkout_id: str) -> str:
    """The body of an admission message (the execution's input adds the workflow's settings to it)."""
    return json.dumps({"checkoutId": checkout_id}, separators=(",", ":"))


class MalformedMessage(ValueError):
    """An admission message that names no checkout: retrying cannot help, it belongs in the dead-letter queue."""


def parse_checkout_message(body: str) -> str:
    """The checkout id an admission message names, or MalformedMessage."""
    try:
        data = json.loads(body)
    except ValueError as error:
        raise MalformedMessage("the message body is not JSON") from error
    checkout_id = data.get("checkoutId") if isinstance(data, dict) else None
    if not isinstance(checkout_id, str) or not is_checkout_id(checkout_id):
        raise MalformedMessage('the message names no checkout (expected {"checkoutId": "<uuid>"})')
    return checkout_id


def is_checkout_id(value: str) -> bool:
    """Checkout ids are UUIDs in canonical form (`checkout_id_for`); anything else names no checkout."""
    if len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


@dataclass(frozen=True)
class Admission:
    checkout_id: str
    started: bool  # False: its execution already existed (a duplicate or re-sent message)


def admit_checkout(workflow: CheckoutWorkflow, message_body: str) -> Admission:
    """Start the workflow of the checkout an admission message names."""
    checkout_id = parse_checkout_message(message_body)
    return Admission(checkout_id, started=workflow.start(checkout_id))
