"""A checkout's workflow execution as operators see it (`GET /admin/checkouts/{id}`): the execution and
each state it went through, in order, with the error that ended a failed one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from commerce.domain.checkout.errors import CheckoutNotFound
from commerce.domain.checkout.listing import operator_view
from commerce.domain.checkout.models import Checkout
from commerce.domain.checkout.ports import CheckoutRepository
from commerce.domain.clock import rfc3339


@dataclass(frozen=True)
class StepError:
    error: str
    cause: str | None

    def to_json(self) -> dict[str, Any]:
        return {"error": self.error, "cause": self.cause}


@dataclass(frozen=True)
class StepView:
    name: str
    status: str  # RUNNING, SUCCEEDED, FAILED (or the execution's final status for a step it cut short)
    started_at: datetime
    ended_at: datetime | None
    error: StepError | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "startedAt": rfc3339(self.started_at),
            "endedAt": rfc3339(self.ended_at) if self.ended_at else None,
            "error": self.error.to_json() if self.error else None,
        }


@dataclass(frozen=True)
class ExecutionView:
    name: str
    status: str  # Step Functions' execution status: RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, ...
    started_at: datetime
    stopped_at: datetime | None
    steps: tuple[StepView, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "startedAt": rfc3339(self.started_at),
            "stoppedAt": rfc3339(self.stopped_at) if self.stopped_at else None,
            "steps": [step.to_json() for step in self.steps],
        }


class CheckoutExecutions(Protocol):
    def execution(self, checkout_id: str) -> ExecutionView | None:
        """The checkout's execution with its steps, or None when it has not started."""
        ...


def checkout_with_execution(
    checkouts: CheckoutRepository, executions: CheckoutExecutions, checkout_id: str
) -> dict[str, Any]:
    """The admin checkout shape (shared/API.md): the checkout plus `execution` (null until it starts)."""
    checkout: Checkout | None = checkouts.get(checkout_id) if 1 <= len(checkout_id) <= 128 else None
    if checkout is None:
        raise CheckoutNotFound(f"There is no checkout {checkout_id!r}")
    execution = executions.execution(checkout.checkout_id)
    return {**operator_view(checkout.to_json()), "execution": execution.to_json() if execution else None}
