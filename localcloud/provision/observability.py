"""CloudWatch Logs log groups (with retention) and CloudWatch alarms."""

from __future__ import annotations

from typing import Any

from localcloud.provision.context import ProvisionContext, api_params, where_of
from localcloud.template import Identity


def create_log_group(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("logs")
    name = str(props.get("LogGroupName") or ctx.name(logical_id, 512))
    client.create_log_group(logGroupName=name)
    if props.get("RetentionInDays") is not None:
        client.put_retention_policy(logGroupName=name, retentionInDays=int(str(props["RetentionInDays"])))
    return ctx.identity(logical_id, "AWS::Logs::LogGroup", {"LogGroupName": name})


def create_alarm(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("cloudwatch")
    declared = {**props, "AlarmName": props.get("AlarmName") or ctx.name(logical_id, 255)}
    client.put_metric_alarm(**api_params(client, "PutMetricAlarm", declared, where=where_of(logical_id)))
    return ctx.identity(logical_id, "AWS::CloudWatch::Alarm", declared)
