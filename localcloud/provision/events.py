"""EventBridge buses and rules, and EventBridge Scheduler schedules.

A rule is created in moto with the targets moto delivers itself (SQS, CloudWatch Logs, other buses);
Lambda and Step Functions targets are delivered by the local cloud's event sources from
`LocalApp.rules`, because moto would hand them to its own Lambda/Step Functions backends instead.
"""

from __future__ import annotations

import json
from typing import Any

from localcloud.aws import arn_service
from localcloud.provision.context import ProvisionContext, api_params, where_of
from localcloud.template import Identity
from localcloud.template.events import DELIVERED_BY_MOTO
from localcloud.template.identity import event_bus_name


def create_event_bus(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("events")
    name = str(props.get("Name") or ctx.name(logical_id, 256))
    arn = client.create_event_bus(Name=name)["EventBusArn"]
    return Identity(name, {"Arn": arn, "Name": name})


def create_rule(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("events")
    name = str(props.get("Name") or ctx.name(logical_id, 64))
    bus = event_bus_name(props.get("EventBusName"))
    declared = {**props, "Name": name, "EventBusName": bus}
    if isinstance(props.get("EventPattern"), dict):
        declared["EventPattern"] = json.dumps(props["EventPattern"])
    declared.pop("Targets", None)
    arn = client.put_rule(**api_params(client, "PutRule", declared, where=where_of(logical_id)))["RuleArn"]
    targets = [t for t in props.get("Targets") or [] if arn_service(str(t.get("Arn", ""))) in DELIVERED_BY_MOTO]
    if targets:
        params = api_params(
            client, "PutTargets", {"Rule": name, "EventBusName": bus, "Targets": targets}, where=where_of(logical_id)
        )
        client.put_targets(**params)
    return Identity(name if bus == "default" else f"{bus}|{name}", {"Arn": arn})


def create_schedule(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("scheduler")
    declared = {**props, "Name": props.get("Name") or ctx.name(logical_id, 64)}
    arn = client.create_schedule(**api_params(client, "CreateSchedule", declared, where=where_of(logical_id)))[
        "ScheduleArn"
    ]
    return Identity(declared["Name"], {"Arn": arn})


def create_schedule_group(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("scheduler")
    name = str(props.get("Name") or ctx.name(logical_id, 64))
    arn = client.create_schedule_group(Name=name)["ScheduleGroupArn"]
    return Identity(name, {"Arn": arn})
