"""One contract, two task-token callbacks: the Step Functions adapter (SendTaskSuccess / SendTaskFailure to a
real execution that moto runs in-process, waiting on a `.waitForTaskToken` Lambda task reached through the
edge) and the in-memory fake alike.

An open token succeeded lets the waiting task go on with the output; failed, the task fails with the error and
cause; a token already used, or one nobody issued, answers False.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto.core.config import default_user_config

from commerce.adapters.workflows import StepFunctionsTaskTokens
from commerce.domain.payments.ports import TaskTokens
from localcloud.edge import EdgeApp
from localcloud.stepfunctions import enable_stepfunctions_execution
from tests.support.event_sources import ACCOUNT_ID, client, running_edge, unique
from tests.support.fakes.payments import InMemoryTaskTokens
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/states"
AWAIT_PAYMENT = {
    "StartAt": "AwaitPayment",
    "States": {
        "AwaitPayment": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "request-payment", "Payload": {"token.$": "$$.Task.Token"}},
            "TimeoutSeconds": 3600,
            "End": True,
        }
    },
}


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    output: Any = None
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class Callbacks:
    port: TaskTokens
    open: Callable[[], str]  # a task now waiting for its token
    outcome: Callable[[str], Outcome]  # how the task the token belongs to ended
    # moto's ASL interpreter drops SendTaskFailure's cause (its TaskFailed event has "cause": null, so the
    # execution's is None); AWS keeps it. Only the error is compared there.
    keeps_cause: bool = True
    # moto also accepts SendTaskFailure for a task that is closed already (SendTaskSuccess it refuses, as AWS
    # does both): a late failure is only asked to answer False where the callbacks are faithful.
    refuses_late_failure: bool = True


class TokenRequests:
    """The `request-payment` Lambda, as the edge's Invoke interceptor: keeps the tokens it is sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.tokens: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        event = json.loads(environ["wsgi.input"].read(length) or b"null")
        with self._lock:
            self.tokens.append(event["token"])
        start_response("200 OK", [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")])
        return [b"null"]

    def received(self) -> list[str]:
        with self._lock:
            return list(self.tokens)


def _memory() -> Callbacks:
    fake = InMemoryTaskTokens()

    def outcome(token: str) -> Outcome:
        [settled] = [o for o in fake.outcomes if o.token == token]
        return Outcome(settled.succeeded, settled.output, settled.error, settled.cause)

    return Callbacks(fake, fake.open, outcome)


@pytest.fixture
def stepfunctions(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, TokenRequests]]:
    # moto's config and MOTO_PORT are process-wide: put them back for the next test.
    monkeypatch.setitem(default_user_config, "stepfunctions", dict(default_user_config["stepfunctions"]))
    monkeypatch.setenv("MOTO_PORT", "0")
    requests = TokenRequests()
    edge = EdgeApp()
    edge.intercept(lambda service, environ: service == "lambda", requests)
    with running_edge(edge) as url:
        restore = enable_stepfunctions_execution(url, time_scale=100.0)
        try:
            yield client(url, "stepfunctions"), requests
        finally:
            restore()


def _stepfunctions(sfn: Any, requests: TokenRequests) -> Callbacks:
    machine = sfn.create_state_machine(name=unique("checkout"), definition=json.dumps(AWAIT_PAYMENT), roleArn=ROLE_ARN)[
        "stateMachineArn"
    ]
    executions: dict[str, str] = {}

    def open_task() -> str:
        before = len(requests.received())
        arn = sfn.start_execution(stateMachineArn=machine, name=unique("checkout"))["executionArn"]
        tokens: list[str] = wait_until(lambda: requests.received()[before:] or None, what="the task token to be sent")
        [token] = tokens
        executions[token] = arn
        return token

    def outcome(token: str) -> Outcome:
        def ended() -> dict[str, Any] | None:
            execution = sfn.describe_execution(executionArn=executions[token])
            return None if execution["status"] == "RUNNING" else execution

        execution: dict[str, Any] = wait_until(ended, what="the execution to finish")
        if execution["status"] == "SUCCEEDED":
            return Outcome(True, json.loads(execution["output"]))
        assert execution["status"] == "FAILED", execution["status"]
        return Outcome(False, error=execution.get("error"), cause=execution.get("cause"))

    return Callbacks(StepFunctionsTaskTokens(sfn), open_task, outcome, keeps_cause=False, refuses_late_failure=False)


@pytest.fixture(params=["memory", "stepfunctions"])
def callbacks(request: pytest.FixtureRequest) -> Callbacks:
    if request.param == "memory":
        return _memory()
    sfn, requests = request.getfixturevalue("stepfunctions")
    return _stepfunctions(sfn, requests)


def test_a_succeeded_token_lets_the_task_go_on_with_the_output(callbacks: Callbacks) -> None:
    # Given a task waiting for its token
    token = callbacks.open()
    # When the token is succeeded with an output
    answered = callbacks.port.succeed(token, {"outcome": "SUCCEEDED", "intentId": "pi_1"})
    # Then the call says the task was open, and the task ended successfully with that output
    assert answered is True
    assert callbacks.outcome(token) == Outcome(True, {"outcome": "SUCCEEDED", "intentId": "pi_1"})


def test_a_failed_token_fails_the_task_with_the_error_and_cause(callbacks: Callbacks) -> None:
    # Given a task waiting for its token
    token = callbacks.open()
    # When the token is failed with an error and a cause
    answered = callbacks.port.fail(token, "PaymentDeclined", "card_declined")
    # Then the call says the task was open, and the task failed with that error and cause
    assert answered is True
    failed = callbacks.outcome(token)
    assert (failed.succeeded, failed.error) == (False, "PaymentDeclined")
    if callbacks.keeps_cause:
        assert failed.cause == "card_declined"


def test_a_used_token_is_no_longer_open(callbacks: Callbacks) -> None:
    # Given a token that was succeeded already
    token = callbacks.open()
    assert callbacks.port.succeed(token, {"n": 1}) is True
    callbacks.outcome(token)
    # When it is succeeded or failed again, Then each call answers False and the first outcome stays
    assert callbacks.port.succeed(token, {"n": 2}) is False
    late_failure = callbacks.port.fail(token, "Late", "too late")
    if callbacks.refuses_late_failure:
        assert late_failure is False
    assert callbacks.outcome(token) == Outcome(True, {"n": 1})


def test_a_token_nobody_issued_is_not_open(callbacks: Callbacks) -> None:
    # Given no task, When an unknown token is succeeded or failed, Then each call answers False
    assert callbacks.port.succeed("AAAAKgAAAAIAAAAAAAAAAUnknownToken", {"n": 1}) is False
    assert callbacks.port.fail("AAAAKgAAAAIAAAAAAAAAAUnknownToken", "Late", "too late") is False
