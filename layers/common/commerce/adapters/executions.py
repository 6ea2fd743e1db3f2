"""A checkout's Step Functions execution, read for operators: DescribeExecution, then the whole history
(GetExecutionHistory, every page) folded into one step per state entered.

A state's step ends when the state is exited; its error is the last failure recorded inside it (a task
that failed and was retried, then succeeded, ends SUCCEEDED without one). A state never exited is RUNNING
while the execution runs, and otherwise ends with the execution (a Fail state, a timeout, an abort).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from commerce.adapters.workflows import execution_arn, stepfunctions_client
from commerce.domain.checkout.executions import ExecutionView, StepError, StepView

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

HISTORY_PAGE = 1000
_FAILURES = {
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "TaskStartFailed": "taskStartFailedEventDetails",
    "TaskSubmitFailed": "taskSubmitFailedEventDetails",
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "LambdaFunctionTimedOut": "lambdaFunctionTimedOutEventDetails",
    "LambdaFunctionStartFailed": "lambdaFunctionStartFailedEventDetails",
    "LambdaFunctionScheduleFailed": "lambdaFunctionScheduleFailedEventDetails",
    "ExecutionFailed": "executionFailedEventDetails",
    "ExecutionTimedOut": "executionTimedOutEventDetails",
    "ExecutionAborted": "executionAbortedEventDetails",
}
_SUCCESSES = frozenset({"TaskSucceeded", "LambdaFunctionSucceeded"})
_EXECUTION_ENDS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})


@dataclass
class _Open:
    name: str
    started_at: datetime
    error: StepError | None = None
    failed: bool = False


class StepFunctionsExecutions:
    """`CheckoutExecutions` of one state machine (the template's `CheckoutStateMachine`)."""

    def __init__(self, state_machine_arn: str, client: SFNClient | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._client = client

    @property
    def client(self) -> SFNClient:
        return self._client or stepfunctions_client()

    def execution(self, checkout_id: str) -> ExecutionView | None:
        arn = execution_arn(self.state_machine_arn, checkout_id)
        try:
            described = self.client.describe_execution(executionArn=arn)
        except self.client.exceptions.ExecutionDoesNotExist:
            return None
        status = str(described["status"])
        return ExecutionView(
            name=str(described.get("name") or checkout_id),
            status=status,
            started_at=described["startDate"],
            stopped_at=described.get("stopDate"),
            steps=steps_from_history(self._history(arn), status),
        )

    def _history(self, arn: str) -> Iterator[Mapping[str, Any]]:
        request: dict[str, Any] = {"executionArn": arn, "maxResults": HISTORY_PAGE}
        while True:
            page = self.client.get_execution_history(**request)
            yield from page["events"]
            token = page.get("nextToken")
            if not token:
                return
            request["nextToken"] = token


def steps_from_history(events: Iterator[Mapping[str, Any]], execution_status: str) -> tuple[StepView, ...]:
    steps: list[StepView] = []
    current: _Open | None = None
    for event in events:
        kind = str(event["type"])
        at: datetime = event["timestamp"]
        failure = _failure(event, kind)
        if kind in _EXECUTION_ENDS:
            if current is not None:  # a Fail state, a timeout or an abort ends the state with the execution
                current.error = failure or current.error
                steps.append(_closed(current, at, "FAILED" if current.failed else execution_status))
                current = None
        elif "stateEnteredEventDetails" in event:
            if current is not None:  # entered without the previous one exiting (never expected)
                steps.append(_closed(current, None, execution_status))
            current = _Open(name=str(event["stateEnteredEventDetails"]["name"]), started_at=at)
            current.failed = kind == "FailStateEntered"
        elif current is None:
            continue
        elif "stateExitedEventDetails" in event:
            steps.append(_closed(current, at, "FAILED" if current.failed else "SUCCEEDED"))
            current = None
        elif failure is not None:
            current.error, current.failed = failure, True
        elif kind in _SUCCESSES:
            current.error, current.failed = None, False  # a retry succeeded
    if current is not None:
        steps.append(_closed(current, None, "RUNNING" if execution_status == "RUNNING" else execution_status))
    return tuple(steps)


def _failure(event: Mapping[str, Any], kind: str) -> StepError | None:
    if kind not in _FAILURES:
        return None
    details = event.get(_FAILURES[kind]) or {}
    return StepError(str(details.get("error") or kind), details.get("cause") or None)


def _closed(step: _Open, ended_at: datetime | None, status: str) -> StepView:
    return StepView(name=step.name, status=status, started_at=step.started_at, ended_at=ended_at, error=step.error)
