"""statemachines/checkout.asl.json as deployed: its substitutions match the template, its happy path is two
state transitions, provider errors are retried with full jitter and bounded attempts, every failure reaches the
compensation, and every error name it retries or catches is one the task functions can raise. Then the
operators' view of an execution, folded from a Step Functions history."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from commerce.adapters.executions import steps_from_history
from commerce.domain.checkout import errors as checkout_errors
from commerce.domain.checkout import saga
from commerce.domain.errors import Conflict
from commerce.domain.orders import errors as order_errors
from commerce.domain.payments import errors as payment_errors
from tests.support.template import ROOT, resource

ASL = ROOT / "statemachines" / "checkout.asl.json"
# Error names Step Functions and Lambda themselves produce.
PLATFORM_ERRORS = re.compile(r"^(States\.[A-Za-z]+|Lambda\.[A-Za-z]+|Sandbox\.Timedout)$")
OUR_ERRORS = {
    cls.__name__
    for module in (saga, payment_errors, checkout_errors, order_errors)
    for cls in vars(module).values()
    if isinstance(cls, type) and issubclass(cls, Exception)
} | {Conflict.__name__}


@cache
def definition() -> dict[str, Any]:
    return dict(json.loads(ASL.read_text()))


def states() -> dict[str, Any]:
    return dict(definition()["States"])


def test_the_placeholders_are_exactly_the_templates_substitutions() -> None:
    # Given the definition and the template's CheckoutStateMachine
    props = resource("CheckoutStateMachine")["Properties"]
    # When their placeholders and substitutions are compared, Then they are the same set
    used = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", ASL.read_text()))
    assert used == set(props["DefinitionSubstitutions"])
    assert props["DefinitionUri"] == "statemachines/checkout.asl.json"
    assert props["Type"] == "STANDARD"


def test_the_happy_path_is_two_state_transitions() -> None:
    # Given the definition, When the path is followed from StartAt through each success, Then it is 2 states
    # (what a paid order costs in Standard transitions: no Pass state in front)
    path, name = [], definition()["StartAt"]
    while True:
        path.append(name)
        state = states()[name]
        if state.get("End") or state["Type"] in ("Succeed", "Fail"):
            break
        name = state["Next"]
    assert path == ["RequestPayment", "Complete"]
    assert not [name for name, state in states().items() if state["Type"] == "Pass"]


def test_the_payment_wait_is_a_callback_task_bounded_by_the_payment_timeout() -> None:
    request = states()["RequestPayment"]
    assert request["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert request["Parameters"]["Payload"]["taskToken.$"] == "$$.Task.Token"
    # The timeout is a number in the execution's input, put there by the admission consumer from the template's
    # PaymentTimeoutSeconds.
    assert request["TimeoutSecondsPath"] == "$.paymentTimeoutSeconds"
    admit = resource("AdmitCheckoutsFunction")["Properties"]["Environment"]["Variables"]
    assert admit["PAYMENT_TIMEOUT_SECONDS"] == {"Ref": "PaymentTimeoutSeconds"}


def test_retries_use_full_jitter_and_bounded_attempts_and_never_retry_a_decline_or_a_timeout() -> None:
    request = states()["RequestPayment"]
    retried = {name for retrier in request["Retry"] for name in retrier["ErrorEquals"]}
    assert "PaymentProviderUnavailable" in retried
    assert not retried & {"PaymentDeclined", "States.Timeout", "States.ALL"}
    for name in ("RequestPayment", "Complete", "Compensate"):
        for retrier in states()[name]["Retry"]:
            if retrier.get("MaxAttempts") == 0:
                continue
            assert retrier["JitterStrategy"] == "FULL", name
            assert 1 <= retrier["MaxAttempts"] <= 10, name
            assert retrier["BackoffRate"] > 1, name
            assert retrier["MaxDelaySeconds"] <= 300, name


def test_every_failure_of_a_step_is_compensated() -> None:
    for name in ("RequestPayment", "Complete"):
        [catch] = states()[name]["Catch"]
        assert (catch["ErrorEquals"], catch["Next"], catch["ResultPath"]) == (["States.ALL"], "Compensate", "$.error")
    choice = states()[states()["Compensate"]["Next"]]
    assert choice["Choices"][0]["Variable"] == "$.compensation.fault"


def test_every_error_name_it_handles_is_one_the_functions_can_raise() -> None:
    # Given every ErrorEquals of the definition
    names = {
        name
        for state in states().values()
        for handler in (*state.get("Retry", []), *state.get("Catch", []))
        for name in handler["ErrorEquals"]
    }
    # Then each is Step Functions' or Lambda's own, or the class name of one of our errors
    unknown = {name for name in names if not PLATFORM_ERRORS.match(name) and name not in OUR_ERRORS}
    assert unknown == set()


# ---------------------------------------------------------------------------------------------- execution view

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def history(*events: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"id": index, "type": kind, "timestamp": T0 + timedelta(seconds=index), **details}
        for index, (kind, details) in enumerate(events, start=1)
    ]


def entered(kind: str, name: str) -> tuple[str, dict[str, Any]]:
    return kind, {"stateEnteredEventDetails": {"name": name}}


def exited(kind: str, name: str) -> tuple[str, dict[str, Any]]:
    return kind, {"stateExitedEventDetails": {"name": name}}


def test_a_declined_checkouts_history_reads_as_its_steps() -> None:
    # Given the history of an execution whose payment was declined (as Step Functions records it)
    events = history(
        ("ExecutionStarted", {}),
        entered("TaskStateEntered", "RequestPayment"),
        ("TaskScheduled", {}),
        ("TaskFailed", {"taskFailedEventDetails": {"error": "PaymentProviderUnavailable", "cause": "503"}}),
        ("TaskScheduled", {}),
        ("TaskSubmitted", {}),
        ("TaskFailed", {"taskFailedEventDetails": {"error": "PaymentDeclined", "cause": "Card declined."}}),
        exited("TaskStateExited", "RequestPayment"),
        entered("TaskStateEntered", "Compensate"),
        ("TaskSucceeded", {}),
        exited("TaskStateExited", "Compensate"),
        entered("ChoiceStateEntered", "Compensated"),
        exited("ChoiceStateExited", "Compensated"),
        entered("SucceedStateEntered", "CheckoutClosed"),
        exited("SucceedStateExited", "CheckoutClosed"),
        ("ExecutionSucceeded", {}),
    )
    # When it is folded into steps
    steps = [step.to_json() for step in steps_from_history(iter(events), "SUCCEEDED")]
    # Then each state is one step, in order; the payment step failed with the decline (the retried 503 is gone)
    assert [(s["name"], s["status"]) for s in steps] == [
        ("RequestPayment", "FAILED"),
        ("Compensate", "SUCCEEDED"),
        ("Compensated", "SUCCEEDED"),
        ("CheckoutClosed", "SUCCEEDED"),
    ]
    assert steps[0]["error"] == {"error": "PaymentDeclined", "cause": "Card declined."}
    assert (steps[0]["startedAt"], steps[0]["endedAt"]) == ("2026-11-22T10:00:02.000Z", "2026-11-22T10:00:08.000Z")
    assert steps[1]["error"] is None


def test_a_retried_step_that_succeeds_ends_without_an_error_and_a_waiting_step_is_running() -> None:
    # Given a running execution whose payment request failed once, was retried, and now waits
    events = history(
        ("ExecutionStarted", {}),
        entered("TaskStateEntered", "RequestPayment"),
        ("TaskFailed", {"taskFailedEventDetails": {"error": "PaymentProviderUnavailable", "cause": "503"}}),
        ("TaskScheduled", {}),
        ("TaskSubmitted", {}),
    )
    # When it is folded, Then the step is RUNNING, with the failure of its last attempt shown
    [step] = steps_from_history(iter(events), "RUNNING")
    assert (step.status, step.ended_at) == ("RUNNING", None)
    assert step.error is not None
    assert step.error.error == "PaymentProviderUnavailable"
    # And once that attempt succeeds, the step succeeds without an error
    done = [*events, *history(("TaskSucceeded", {}))[:1], *history(exited("TaskStateExited", "RequestPayment"))[:1]]
    [step] = steps_from_history(iter(done), "RUNNING")
    assert (step.status, step.error) == ("SUCCEEDED", None)


@pytest.mark.parametrize(("end", "status"), [("ExecutionFailed", "FAILED"), ("ExecutionAborted", "ABORTED")])
def test_a_step_cut_short_by_the_execution_ends_with_it(end: str, status: str) -> None:
    # Given an execution that ended while a state was running (a Fail state, or an abort)
    details = {"executionFailedEventDetails": {"error": "CheckoutFailed", "cause": "see Compensate"}}
    events = history(
        ("ExecutionStarted", {}),
        entered("FailStateEntered" if end == "ExecutionFailed" else "TaskStateEntered", "CheckoutFailed"),
        (end, details if end == "ExecutionFailed" else {}),
    )
    # When it is folded, Then the step ends when the execution did, FAILED or with the execution's status
    [step] = steps_from_history(iter(events), status)
    assert step.ended_at == T0 + timedelta(seconds=3)
    assert step.status == status


class PagedStepFunctions:
    """A Step Functions client answering DescribeExecution and a history split over pages."""

    class exceptions:  # the shape of a boto3 client
        class ExecutionDoesNotExist(Exception):
            pass

    def __init__(self, pages: list[list[dict[str, Any]]], exists: bool = True) -> None:
        self.pages = pages
        self.exists = exists
        self.tokens: list[str | None] = []

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        if not self.exists:
            raise self.exceptions.ExecutionDoesNotExist(executionArn)
        return {"name": executionArn.rsplit(":", 1)[1], "status": "SUCCEEDED", "startDate": T0, "stopDate": T0}

    def get_execution_history(self, **request: Any) -> dict[str, Any]:
        self.tokens.append(request.get("nextToken"))
        index = int(request.get("nextToken") or 0)
        page: dict[str, Any] = {"events": self.pages[index]}
        if index + 1 < len(self.pages):
            page["nextToken"] = str(index + 1)
        return page


def test_the_whole_history_is_read_page_by_page() -> None:
    from commerce.adapters.executions import StepFunctionsExecutions

    # Given a history Step Functions returns in two pages
    events = history(
        ("ExecutionStarted", {}),
        entered("TaskStateEntered", "RequestPayment"),
        exited("TaskStateExited", "RequestPayment"),
        entered("TaskStateEntered", "Complete"),
        exited("TaskStateExited", "Complete"),
        ("ExecutionSucceeded", {}),
    )
    client = PagedStepFunctions([events[:3], events[3:]])
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:checkout"
    # When the operators' view is read, Then both pages were asked for, and every step is there
    view = StepFunctionsExecutions(machine, client=client).execution("c-1")  # type: ignore[arg-type]
    assert view is not None
    assert client.tokens == [None, "1"]
    assert (view.name, [step.name for step in view.steps]) == ("c-1", ["RequestPayment", "Complete"])
    # And a checkout whose execution never started has none
    assert StepFunctionsExecutions(machine, client=PagedStepFunctions([], exists=False)).execution("c-2") is None  # type: ignore[arg-type]
