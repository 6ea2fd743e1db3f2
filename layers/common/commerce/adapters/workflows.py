"""Step Functions: the checkout workflow's executions, named after their checkout.

`StepFunctionsCheckoutWorkflow` starts a checkout's execution (StartExecution, name = checkout id, input
`{"checkoutId": ..., "paymentTimeoutSeconds": ...}`: the state machine reads its payment task's timeout from
there, which saves a state transition per checkout) and reads its state (DescribeExecution). A name already used answers
`ExecutionAlreadyExists` (or, for a running execution started with the same input, the same execution):
both mean the checkout's workflow exists, which is what admission wants. Other errors are raised as they
come; the caller decides what one failed start means (the admission consumer: one failed message).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from commerce.domain.checkout.admission import ExecutionState

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


@cache
def stepfunctions_client() -> SFNClient:
    import boto3  # imported here so that module import stays light (cold start)

    return boto3.client("stepfunctions")


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN of the execution called `name` of a state machine (the state machine ARN with `execution`)."""
    prefix, marker, machine = state_machine_arn.partition(":stateMachine:")
    if not marker or not machine:
        raise ValueError(f"not a state machine ARN: {state_machine_arn!r}")
    return f"{prefix}:execution:{machine}:{name}"


class StepFunctionsCheckoutWorkflow:
    """`CheckoutWorkflow` over one state machine (the template's `CheckoutStateMachine`)."""

    def __init__(
        self,
        state_machine_arn: str,
        client: SFNClient | None = None,
        *,
        execution_input: Mapping[str, Any] | None = None,
    ) -> None:
        self.state_machine_arn = state_machine_arn
        self._client = client
        self._input = dict(execution_input or {})  # what every execution's input carries besides the checkout id

    @property
    def client(self) -> SFNClient:
        return self._client or stepfunctions_client()

    def start(self, checkout_id: str) -> bool:
        try:
            self.client.start_execution(
                stateMachineArn=self.state_machine_arn, name=checkout_id, input=self.execution_input(checkout_id)
            )
        except self.client.exceptions.ExecutionAlreadyExists:
            return False
        return True

    def execution_input(self, checkout_id: str) -> str:
        # The same for every start of one checkout, so a repeated start of a running execution is idempotent.
        return json.dumps({**self._input, "checkoutId": checkout_id}, separators=(",", ":"))

    def state(self, checkout_id: str) -> ExecutionState | None:
        try:
            execution = self.client.describe_execution(executionArn=execution_arn(self.state_machine_arn, checkout_id))
        except self.client.exceptions.ExecutionDoesNotExist:
            return None
        return ExecutionState(execution["status"])


class StepFunctionsTaskTokens:
    """`TaskTokens` of commerce.domain.payments: SendTaskSuccess / SendTaskFailure for `.waitForTaskToken`
    tasks. A task that is no longer open (TaskTimedOut, InvalidToken, TaskDoesNotExist) answers False: the
    payment record's decided outcome, not the token, is what the workflow acts on."""

    def __init__(self, client: SFNClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> SFNClient:
        return self._client or stepfunctions_client()

    def succeed(self, task_token: str, output: Mapping[str, Any]) -> bool:
        closed = self._closed_errors()
        try:
            self.client.send_task_success(taskToken=task_token, output=json.dumps(dict(output)))
        except closed:
            return False
        return True

    def fail(self, task_token: str, error: str, cause: str) -> bool:
        closed = self._closed_errors()
        try:
            self.client.send_task_failure(taskToken=task_token, error=error, cause=cause)
        except closed:
            return False
        return True

    def _closed_errors(self) -> tuple[type[Exception], ...]:
        errors = self.client.exceptions
        return (errors.TaskTimedOut, errors.InvalidToken, errors.TaskDoesNotExist)
