"""Event sources, schedules and EventBridge rules, from the resolved resources SAM generates for them.

`Events: Type: SQS/DynamoDB` become AWS::Lambda::EventSourceMapping, `Schedule` and
`EventBridgeRule` become AWS::Events::Rule, `ScheduleV2` becomes AWS::Scheduler::Schedule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from localcloud.aws import arn_service
from localcloud.model import EventRule, LambdaFunction, QueueSource, Schedule, StreamSource, Target, find_function
from localcloud.template.errors import LocalCloudTemplateError, integer_at, location_of
from localcloud.template.identity import event_bus_name

# Targets moto delivers by itself when an event matches a rule; the local cloud delivers the rest.
DELIVERED_BY_MOTO = frozenset({"sqs", "logs", "events"})
_STREAM_TABLE = re.compile(r":table/([^/]+)/stream/")


def target_of(props: Mapping[str, Any]) -> Target:
    arn = str(props.get("Arn", ""))
    return Target(
        kind=arn_service(arn),
        arn=arn,
        input=props.get("Input"),
        input_path=props.get("InputPath"),
        input_transformer=props.get("InputTransformer"),
        target_id=str(props.get("Id", "")),
    )


def _function_logical_id(
    name_or_arn: Any, functions: Mapping[str, LambdaFunction], where: tuple[str | int, ...]
) -> str:
    function = find_function(functions.values(), str(name_or_arn))
    if function is None:
        raise LocalCloudTemplateError(f"function {name_or_arn!r} is not in this template", location=location_of(*where))
    return function.logical_id


def _filter_patterns(props: Mapping[str, Any], where: tuple[str | int, ...]) -> tuple[dict[str, Any], ...]:
    patterns = []
    for index, entry in enumerate((props.get("FilterCriteria") or {}).get("Filters") or []):
        pattern = entry.get("Pattern") if isinstance(entry, Mapping) else None
        try:
            patterns.append(json.loads(pattern) if isinstance(pattern, str) else dict(pattern))  # type: ignore[arg-type]
        except (ValueError, TypeError):
            raise LocalCloudTemplateError(
                "a filter Pattern must be a JSON object",
                location=location_of(*where, "FilterCriteria", "Filters", index, "Pattern"),
            ) from None
    return tuple(patterns)


def build_event_sources(
    resources: Mapping[str, dict[str, Any]],
    functions: Mapping[str, LambdaFunction],
    queue_urls_by_arn: Mapping[str, str],
) -> tuple[list[QueueSource], list[StreamSource]]:
    queues: list[QueueSource] = []
    streams: list[StreamSource] = []
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        props = resource["Properties"]
        where = ("Resources", logical_id, "Properties")
        function = _function_logical_id(props.get("FunctionName"), functions, (*where, "FunctionName"))
        source_arn = str(props.get("EventSourceArn", ""))
        enabled = str(props.get("Enabled", True)).lower() != "false"
        reports_failures = "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])
        window = integer_at(props.get("MaximumBatchingWindowInSeconds", 0), (*where, "MaximumBatchingWindowInSeconds"))
        if arn_service(source_arn) == "sqs":
            if source_arn not in queue_urls_by_arn:
                raise LocalCloudTemplateError(
                    f"queue {source_arn} is not declared in this template; only its own queues exist locally",
                    location=location_of(*where, "EventSourceArn"),
                )
            scaling = props.get("ScalingConfig") or {}
            queues.append(
                QueueSource(
                    function=function,
                    queue_arn=source_arn,
                    batch_size=integer_at(props.get("BatchSize", 10), (*where, "BatchSize")),
                    batching_window_seconds=window,
                    report_batch_item_failures=reports_failures,
                    maximum_concurrency=integer_at(
                        scaling["MaximumConcurrency"], (*where, "ScalingConfig", "MaximumConcurrency")
                    )
                    if scaling.get("MaximumConcurrency")
                    else None,
                    enabled=enabled,
                    queue_url=queue_urls_by_arn[source_arn],
                    filter_patterns=_filter_patterns(props, where),
                )
            )
        elif arn_service(source_arn) == "dynamodb" and (match := _STREAM_TABLE.search(source_arn)):
            on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            streams.append(
                StreamSource(
                    function=function,
                    table_name=match.group(1),
                    batch_size=integer_at(props.get("BatchSize", 100), (*where, "BatchSize")),
                    starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")),
                    report_batch_item_failures=reports_failures,
                    filter_patterns=_filter_patterns(props, where),
                    stream_arn=source_arn,
                    batching_window_seconds=window,
                    maximum_retry_attempts=integer_at(
                        props.get("MaximumRetryAttempts", -1), (*where, "MaximumRetryAttempts")
                    ),
                    bisect_batch_on_function_error=str(props.get("BisectBatchOnFunctionError", False)).lower()
                    == "true",
                    on_failure_arn=on_failure,
                    enabled=enabled,
                )
            )
        else:
            raise LocalCloudTemplateError(
                f"event source {source_arn or '(none)'} is not supported locally (SQS queues and DynamoDB streams are)",
                location=location_of(*where, "EventSourceArn"),
            )
    return queues, streams


def build_schedules_and_rules(
    resources: Mapping[str, dict[str, Any]], refs: Mapping[str, Any]
) -> tuple[list[Schedule], list[EventRule]]:
    schedules: list[Schedule] = []
    rules: list[EventRule] = []
    for logical_id, resource in resources.items():
        props = resource["Properties"]
        where = ("Resources", logical_id, "Properties")
        enabled = str(props.get("State", "ENABLED")).upper() != "DISABLED"
        if resource["Type"] == "AWS::Scheduler::Schedule":
            schedules.append(
                Schedule(
                    name=str(refs[logical_id]),
                    expression=_schedule_expression(props, where),
                    targets=(target_of(props.get("Target") or {}),),
                    enabled=enabled,
                    timezone=props.get("ScheduleExpressionTimezone"),
                )
            )
        elif resource["Type"] == "AWS::Events::Rule":
            name = str(refs[logical_id]).split("|")[-1]
            targets = tuple(target_of(t) for t in props.get("Targets") or [])
            if props.get("ScheduleExpression"):
                schedules.append(
                    Schedule(name=name, expression=_schedule_expression(props, where), targets=targets, enabled=enabled)
                )
            if props.get("EventPattern") and enabled:
                rules.append(
                    EventRule(
                        name=name,
                        event_bus_name=event_bus_name(props.get("EventBusName")),
                        pattern=_pattern(
                            props["EventPattern"], ("Resources", logical_id, "Properties", "EventPattern")
                        ),
                        targets=tuple(t for t in targets if t.kind not in DELIVERED_BY_MOTO),
                    )
                )
    return schedules, rules


def _schedule_expression(props: Mapping[str, Any], where: tuple[str, ...]) -> str:
    """The ScheduleExpression, checked now: one the scheduler cannot run fails the load, as a deploy would fail."""
    # Imported here: only templates with schedules need the expression grammar (and croniter).
    from localcloud.schedule_expressions import InvalidScheduleExpression, parse_schedule

    expression = str(props.get("ScheduleExpression", ""))
    try:
        parse_schedule(expression)
    except InvalidScheduleExpression as error:
        raise LocalCloudTemplateError(str(error), location=location_of(*where, "ScheduleExpression")) from None
    timezone = props.get("ScheduleExpressionTimezone")
    if timezone:
        try:
            parse_schedule(expression, str(timezone))
        except InvalidScheduleExpression as error:
            raise LocalCloudTemplateError(
                str(error), location=location_of(*where, "ScheduleExpressionTimezone")
            ) from None
    return expression


def _pattern(value: Any, where: tuple[str, ...]) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        pattern = json.loads(str(value))
    except ValueError:
        pattern = None
    if not isinstance(pattern, dict):
        raise LocalCloudTemplateError("EventPattern must be a JSON object", location=location_of(*where))
    return pattern
