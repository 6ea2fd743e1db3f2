"""Step Functions in the local cloud: moto really executes the ASL, Lambda tasks reach functions
through the edge's Invoke interceptor, and the time scale compresses Wait, Retry and callback timeouts."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core.config import default_user_config

from localcloud.edge import EdgeApp
from localcloud.stepfunctions import enable_stepfunctions_execution, stepfunctions_time_scale
from tests.support.event_sources import ACCOUNT_ID, client, running_edge, unique
from tests.support.waiting import wait_until

pytestmark = pytest.mark.localcloud

ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/states"
TIME_SCALE = 100.0

FunctionResult = tuple[Any, str | None]  # (payload, errorType when the function raised)


class LambdaError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass
class FakeLambda:
    """A test-only Lambda Invoke interceptor: runs Python callables by function name, answers as Lambda does."""

    functions: dict[str, Callable[[Any], Any]]
    calls: list[tuple[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def calls_to(self, name: str) -> list[Any]:
        with self._lock:
            return [event for function, event in self.calls if function == name]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # POST /2015-03-31/functions/{name}/invocations
        name = environ["PATH_INFO"].split("/")[3]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        event = json.loads(environ["wsgi.input"].read(length) or b"null")
        with self._lock:
            self.calls.append((name, event))
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
        try:
            payload = self.functions[name](event)
        except LambdaError as error:
            payload = {"errorType": error.error_type, "errorMessage": str(error), "stackTrace": []}
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        start_response("200 OK", headers)
        return [json.dumps(payload).encode()]


@pytest.fixture
def fake_lambda() -> FakeLambda:
    return FakeLambda(functions={})


@pytest.fixture
def edge_url(fake_lambda: FakeLambda, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # moto's config, MOTO_PORT and the time scale are process-wide: put them back for the next test.
    monkeypatch.setitem(default_user_config, "stepfunctions", dict(default_user_config["stepfunctions"]))
    monkeypatch.setenv("MOTO_PORT", "0")
    edge = EdgeApp()
    edge.intercept(lambda service, environ: service == "lambda", fake_lambda)
    with running_edge(edge) as url:
        restore = enable_stepfunctions_execution(url, time_scale=TIME_SCALE)
        try:
            yield url
        finally:
            restore()


def test_enabling_execution_is_undone_by_the_function_it_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the process-wide switches as another part of the process left them
    monkeypatch.setitem(default_user_config, "stepfunctions", {"execute_state_machine": False})
    monkeypatch.setenv("MOTO_PORT", "1234")
    scale_before = stepfunctions_time_scale()
    with running_edge() as url:
        # When execution is enabled for an edge
        restore = enable_stepfunctions_execution(url, time_scale=TIME_SCALE)
        assert default_user_config["stepfunctions"]["execute_state_machine"] is True
        assert os.environ["MOTO_PORT"] == url.rsplit(":", 1)[1]
        assert stepfunctions_time_scale() == TIME_SCALE

        # And undone when that edge stops
        restore()

    # Then every switch is as it was
    assert default_user_config["stepfunctions"] == {"execute_state_machine": False}
    assert os.environ["MOTO_PORT"] == "1234"
    assert stepfunctions_time_scale() == scale_before


def create_machine(stepfunctions: Any, definition: dict[str, Any]) -> str:
    response = stepfunctions.create_state_machine(
        name=unique("checkout"), definition=json.dumps(definition), roleArn=ROLE_ARN
    )
    return str(response["stateMachineArn"])


def finished(stepfunctions: Any, execution_arn: str) -> dict[str, Any]:
    def status() -> dict[str, Any] | None:
        execution = stepfunctions.describe_execution(executionArn=execution_arn)
        return None if execution["status"] == "RUNNING" else execution

    result: dict[str, Any] = wait_until(status, what="the execution to finish")
    return result


CHECKOUT = {
    "StartAt": "Charge",
    "States": {
        "Charge": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
            "Retry": [
                {
                    "ErrorEquals": ["ProviderUnavailable"],
                    "IntervalSeconds": 30,
                    "BackoffRate": 2.0,
                    "MaxAttempts": 3,
                    "JitterStrategy": "FULL",
                }
            ],
            "ResultSelector": {"charged.$": "$.Payload.charged"},
            "ResultPath": "$.charge",
            "Next": "Settle",
        },
        # Longer than the test's deadline: only a compressed wait lets the execution finish in time.
        "Settle": {"Type": "Wait", "Seconds": 60, "Next": "AwaitPayment"},
        "AwaitPayment": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": "request-payment",
                "Payload": {"token.$": "$$.Task.Token", "orderId.$": "$.orderId"},
            },
            "TimeoutSeconds": 3600,
            "ResultPath": "$.payment",
            "Next": "Ship",
        },
        "Ship": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "ship", "Payload.$": "$"},
            "Catch": [{"ErrorEquals": ["CarrierRejected"], "ResultPath": "$.shipError", "Next": "Compensate"}],
            "Next": "Done",
        },
        "Compensate": {"Type": "Pass", "Result": "refunded", "ResultPath": "$.compensation", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


def test_an_execution_runs_tasks_retries_waits_callbacks_and_catches(edge_url: str, fake_lambda: FakeLambda) -> None:
    # Given functions: a charge that fails twice with a retryable error, a payment request, a failing shipment
    attempts = iter([LambdaError("ProviderUnavailable", "503"), LambdaError("ProviderUnavailable", "503")])

    def charge(event: Any) -> Any:
        failure = next(attempts, None)
        if failure:
            raise failure
        return {"charged": event["orderId"]}

    def ship(event: Any) -> Any:
        raise LambdaError("CarrierRejected", "no carrier")

    fake_lambda.functions.update({"charge": charge, "request-payment": lambda event: None, "ship": ship})
    stepfunctions = client(edge_url, "stepfunctions")
    machine = create_machine(stepfunctions, CHECKOUT)

    # When an execution named after the checkout starts and the payment callback arrives
    name = unique("checkout")
    execution_arn = stepfunctions.start_execution(stateMachineArn=machine, name=name, input='{"orderId": "o-1"}')[
        "executionArn"
    ]
    [payment_request] = wait_until(lambda: fake_lambda.calls_to("request-payment"), what="the payment request")
    assert payment_request["orderId"] == "o-1"
    stepfunctions.send_task_success(taskToken=payment_request["token"], output='{"paid": true}')

    # Then it succeeds: the charge after two retries, the callback's output, the caught failure compensated
    execution = finished(stepfunctions, execution_arn)
    assert execution["status"] == "SUCCEEDED"
    assert execution["name"] == name
    assert execution_arn.endswith(f":{name}")
    output = json.loads(execution["output"])
    assert output["charge"] == {"charged": "o-1"}
    assert output["payment"] == {"paid": True}
    assert output["shipError"]["Error"] == "CarrierRejected"
    assert output["compensation"] == "refunded"
    assert len(fake_lambda.calls_to("charge")) == 3

    # And the history tells the same story, in order
    events = stepfunctions.get_execution_history(executionArn=execution_arn)["events"]
    types = [event["type"] for event in events]
    assert types[0] == "ExecutionStarted"
    assert types[-1] == "ExecutionSucceeded"
    assert types.count("TaskFailed") == 3  # two charge attempts and the shipment
    assert {"WaitStateEntered", "WaitStateExited", "TaskSubmitted", "TaskSucceeded", "PassStateEntered"} <= set(types)
    assert [event["id"] for event in events] == sorted(event["id"] for event in events)
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    assert entered == ["Charge", "Settle", "AwaitPayment", "Ship", "Compensate", "Done"]


def test_retry_intervals_are_compressed_by_the_time_scale(edge_url: str, fake_lambda: FakeLambda) -> None:
    # Given a task whose one retry waits 60 seconds (no jitter), longer than the test's deadline at scale 1
    attempts = iter([LambdaError("ProviderUnavailable", "503")])

    def charge(event: Any) -> Any:
        failure = next(attempts, None)
        if failure:
            raise failure
        return {"charged": True}

    fake_lambda.functions["charge"] = charge
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "charge", "Payload": {}},
        "Retry": [{"ErrorEquals": ["ProviderUnavailable"], "IntervalSeconds": 60, "MaxAttempts": 1}],
        "OutputPath": "$.Payload",
        "End": True,
    }
    stepfunctions = client(edge_url, "stepfunctions")
    machine = create_machine(stepfunctions, {"StartAt": "Charge", "States": {"Charge": task}})

    # When an execution starts
    execution_arn = stepfunctions.start_execution(stateMachineArn=machine, name=unique("checkout"))["executionArn"]

    # Then the retry happens within the deadline and succeeds
    execution = finished(stepfunctions, execution_arn)
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"]) == {"charged": True}
    assert len(fake_lambda.calls_to("charge")) == 2


PASS_MACHINE = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
WAITING_MACHINE = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 86400, "End": True}}}


def test_execution_names_are_unique_per_state_machine(edge_url: str) -> None:
    # Given a finished execution with a name
    stepfunctions = client(edge_url, "stepfunctions")
    machine = create_machine(stepfunctions, PASS_MACHINE)
    name = unique("checkout")
    first = stepfunctions.start_execution(stateMachineArn=machine, name=name, input='{"n": 1}')["executionArn"]
    assert finished(stepfunctions, first)["status"] == "SUCCEEDED"

    # When the same name is used again, with the same or another input / Then the start is refused
    for again in ('{"n": 1}', '{"n": 2}'):
        with pytest.raises(ClientError) as refused:
            stepfunctions.start_execution(stateMachineArn=machine, name=name, input=again)
        assert refused.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


def test_starting_a_running_execution_again_with_the_same_input_is_idempotent(edge_url: str) -> None:
    # Given a running execution (a day-long wait, even compressed)
    stepfunctions = client(edge_url, "stepfunctions")
    machine = create_machine(stepfunctions, WAITING_MACHINE)
    name = unique("checkout")
    first = stepfunctions.start_execution(stateMachineArn=machine, name=name, input='{"n": 1}')["executionArn"]
    try:
        # When it is started again with the same name and input
        again = stepfunctions.start_execution(stateMachineArn=machine, name=name, input='{"n": 1}')["executionArn"]

        # Then the same execution answers, and only one exists
        assert again == first
        assert len(stepfunctions.list_executions(stateMachineArn=machine)["executions"]) == 1
    finally:
        stepfunctions.stop_execution(executionArn=first)
    assert finished(stepfunctions, first)["status"] == "ABORTED"


@pytest.mark.parametrize(
    ("timing", "error"),
    [
        ({"TimeoutSeconds": 100}, "States.Timeout"),
        # moto reports a missed heartbeat as States.Timeout (AWS: States.HeartbeatTimeout, which States.Timeout
        # also matches in Retry and Catch); failing within the deadline shows the heartbeat, not the
        # timeout, was compressed and fired.
        ({"TimeoutSeconds": 100000, "HeartbeatSeconds": 100}, "States.Timeout"),
    ],
)
def test_callback_timeouts_are_compressed_by_the_time_scale(
    edge_url: str, fake_lambda: FakeLambda, timing: dict[str, int], error: str
) -> None:
    # Given a callback task nobody answers, with a timeout far beyond the test's deadline at scale 1
    fake_lambda.functions["request-payment"] = lambda event: None
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "request-payment", "Payload": {"token.$": "$$.Task.Token"}},
        "End": True,
        **timing,
    }
    stepfunctions = client(edge_url, "stepfunctions")
    machine = create_machine(stepfunctions, {"StartAt": "AwaitPayment", "States": {"AwaitPayment": task}})

    # When an execution starts
    execution_arn = stepfunctions.start_execution(stateMachineArn=machine, name=unique("checkout"))["executionArn"]

    # Then it times out after the compressed timeout, with AWS's error
    execution = finished(stepfunctions, execution_arn)
    assert execution["status"] == "FAILED"
    assert execution["error"] == error
