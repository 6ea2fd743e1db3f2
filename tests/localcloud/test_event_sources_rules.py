"""EventBridge rules with function and state machine targets: moto matches the pattern, the local
cloud delivers to the real targets with their Input or InputPath."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.event_sources import EventSources
from localcloud.model import EventRule, Target
from tests.support.event_sources import (
    ACCOUNT_ID,
    REGION,
    RecordingInvoke,
    client,
    local_app,
    unique,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.localcloud

ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/events"
PASS_DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


def put_event(events: Any, bus: str, detail_type: str, detail: dict[str, Any]) -> None:
    response = events.put_events(
        Entries=[
            {"Source": "commerce.orders", "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": bus}
        ]
    )
    assert response["FailedEntryCount"] == 0


def test_matching_events_reach_function_and_state_machine_targets_and_others_do_not(edge_url: str) -> None:
    # Given a bus with a rule for OrderPlaced, created in moto as the loader does (with its Lambda target)
    events = client(edge_url, "events")
    stepfunctions = client(edge_url, "stepfunctions")
    bus = unique("commerce")
    events.create_event_bus(Name=bus)
    rule_name = unique("order-placed")
    pattern = {"source": ["commerce.orders"], "detail-type": ["OrderPlaced"]}
    events.put_rule(Name=rule_name, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule_name, EventBusName=bus, Targets=[{"Id": "fn", "Arn": function_arn("notify")}])
    machine = stepfunctions.create_state_machine(name=unique("fulfil"), definition=PASS_DEFINITION, roleArn=ROLE_ARN)
    rule = EventRule(
        name=rule_name,
        event_bus_name=bus,
        pattern=pattern,
        targets=(
            Target(kind="lambda", arn=function_arn("notify"), input_path="$.detail"),
            Target(kind="lambda", arn=function_arn("audit"), input='{"constant": true}'),
            Target(kind="states", arn=machine["stateMachineArn"]),
        ),
    )
    invoke = RecordingInvoke()

    with EventSources(local_app(rules=[rule]), edge_url=edge_url, invoke=invoke):
        # When a non-matching and then a matching event are published
        put_event(events, bus, "OrderCancelled", {"orderId": "o-0"})
        put_event(events, bus, "OrderPlaced", {"orderId": "o-1"})

        # Then each target receives the matching event once, shaped by its Input / InputPath
        calls = invoke.wait_for_calls(2)
        [execution] = wait_until(
            lambda: stepfunctions.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"],
            what="the state machine execution",
        )
    by_function = {call.function: call for call in calls}
    assert by_function[function_arn("notify")].event == {"orderId": "o-1"}
    assert by_function[function_arn("notify")].invocation_type == "Event"
    assert by_function[function_arn("audit")].event == {"constant": True}
    execution_input = json.loads(stepfunctions.describe_execution(executionArn=execution["executionArn"])["input"])
    assert execution_input["detail-type"] == "OrderPlaced"
    assert execution_input["detail"] == {"orderId": "o-1"}
    assert execution_input["source"] == "commerce.orders"
    assert execution_input["account"] == ACCOUNT_ID
    assert execution_input["region"] == REGION
    event_keys = ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert list(execution_input) == event_keys
    assert len(invoke.snapshot()) == 2


def test_moto_keeps_matching_while_the_lambda_targets_live_in_the_local_cloud(edge_url: str) -> None:
    # Given a rule that moto holds with a Lambda target (which moto cannot deliver to)
    events = client(edge_url, "events")
    bus = unique("commerce")
    events.create_event_bus(Name=bus)
    rule_name = unique("payment-failed")
    pattern = {"detail-type": ["PaymentFailed"], "detail": {"amount": [{"numeric": [">", 100]}]}}
    events.put_rule(Name=rule_name, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule_name, EventBusName=bus, Targets=[{"Id": "fn", "Arn": function_arn("alert")}])
    rule = EventRule(rule_name, bus, pattern, (Target(kind="lambda", arn=function_arn("alert")),))
    invoke = RecordingInvoke()

    with EventSources(local_app(rules=[rule]), edge_url=edge_url, invoke=invoke):
        # When events below and above the threshold are published
        put_event(events, bus, "PaymentFailed", {"amount": 50})
        put_event(events, bus, "PaymentFailed", {"amount": 500})
        [call] = invoke.wait_for_calls(1)

        # Then only the one moto's pattern matched is delivered, and moto's rule now targets only the relay
        targets = events.list_targets_by_rule(Rule=rule_name, EventBusName=bus)["Targets"]
    assert call.event["detail"] == {"amount": 500}
    assert [target["Arn"].split(":")[2] for target in targets] == ["sqs"]
    assert len(invoke.snapshot()) == 1


def test_an_input_transformer_shapes_what_the_function_receives(edge_url: str) -> None:
    # Given a rule whose function target has an InputTransformer
    events = client(edge_url, "events")
    bus = unique("commerce")
    events.create_event_bus(Name=bus)
    rule_name = unique("order-placed")
    pattern = {"detail-type": ["OrderPlaced"]}
    events.put_rule(Name=rule_name, EventBusName=bus, EventPattern=json.dumps(pattern))
    transformer = {
        "InputPathsMap": {"order": "$.detail.orderId", "total": "$.detail.total"},
        "InputTemplate": '{"orderId": "<order>", "total": <total>, "kind": "placed"}',
    }
    target = Target(kind="lambda", arn=function_arn("receipt"), input_transformer=transformer)
    invoke = RecordingInvoke()

    with EventSources(
        local_app(rules=[EventRule(rule_name, bus, pattern, (target,))]), edge_url=edge_url, invoke=invoke
    ):
        # When a matching event is published
        put_event(events, bus, "OrderPlaced", {"orderId": "o-7", "total": 4200})

        # Then the function receives the filled-in template
        [call] = invoke.wait_for_calls(1)
    assert call.event == {"orderId": "o-7", "total": 4200, "kind": "placed"}
