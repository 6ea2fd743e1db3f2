"""Schedule rules: AWS's rate() and six-field cron() expressions, the Scheduled Event delivered to
function and state machine targets, the time scale that compresses them, and LOCALCLOUD_TIME_SCALE."""

from __future__ import annotations

import datetime
import json

import pytest

from localcloud.event_sources import EventSources
from localcloud.model import Schedule, Target
from localcloud.schedule_expressions import InvalidScheduleExpression, parse_schedule
from localcloud.timescale import InvalidTimeScale, ScaledClock, time_scale_from_env
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

UTC = datetime.UTC
# A Wednesday, mid-afternoon.
NOW = datetime.datetime(2025, 1, 1, 12, 34, 56, tzinfo=UTC)


def at(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "first", "second"),
    [
        ("rate(1 minute)", at(2025, 1, 1, 12, 35, 56), at(2025, 1, 1, 12, 36, 56)),
        ("rate(6 hours)", at(2025, 1, 1, 18, 34, 56), at(2025, 1, 2, 0, 34, 56)),
        ("rate(2 days)", at(2025, 1, 3, 12, 34, 56), at(2025, 1, 5, 12, 34, 56)),
        ("cron(0/15 * * * ? *)", at(2025, 1, 1, 12, 45), at(2025, 1, 1, 13, 0)),
        ("cron(0 10 ? * MON-FRI *)", at(2025, 1, 2, 10, 0), at(2025, 1, 3, 10, 0)),
        # Day-of-week counts from 1 = SUN: 2-6 is Monday to Friday, 1 is Sunday.
        ("cron(0 9 ? * 2-6 *)", at(2025, 1, 2, 9, 0), at(2025, 1, 3, 9, 0)),
        ("cron(0 12 ? * 1 *)", at(2025, 1, 5, 12, 0), at(2025, 1, 12, 12, 0)),
        ("cron(15 12 L * ? *)", at(2025, 1, 31, 12, 15), at(2025, 2, 28, 12, 15)),
        ("cron(0 18 ? * 6L *)", at(2025, 1, 31, 18, 0), at(2025, 2, 28, 18, 0)),
        ("cron(0 9 ? * 2#1 *)", at(2025, 1, 6, 9, 0), at(2025, 2, 3, 9, 0)),
        ("cron(0 8 1W * ? *)", at(2025, 2, 3, 8, 0), at(2025, 3, 3, 8, 0)),
        ("cron(30 2 1 JAN ? 2026-2027)", at(2026, 1, 1, 2, 30), at(2027, 1, 1, 2, 30)),
    ],
)
def test_schedule_expressions_fire_when_eventbridge_would(
    expression: str, first: datetime.datetime, second: datetime.datetime
) -> None:
    # Given a schedule expression
    schedule = parse_schedule(expression)

    # When the next two times after a Wednesday afternoon are computed
    following = schedule.next_after(NOW)
    assert following is not None

    # Then they are the times EventBridge fires at (UTC)
    assert (following, schedule.next_after(following)) == (first, second)


def test_a_cron_with_a_finished_year_range_never_fires_again() -> None:
    # Given a cron limited to 2026 / When asked after its last time / Then there is none
    assert parse_schedule("cron(0 0 1 1 ? 2026)").next_after(at(2026, 1, 1, 0, 0)) is None


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",  # EventBridge wants the singular for 1...
        "rate(5 minute)",  # ...and the plural otherwise
        "rate(0 minutes)",
        "rate(1 second)",
        "cron(0 10 * * * *)",  # one of the day fields must be ?
        "cron(0 10 ? * ? *)",
        "cron(0 10 ? * 8 *)",
        "cron(0 10 ? * FUNDAY *)",
        "cron(61 10 ? * MON *)",
        "cron(0 10 * *)",
        "cron(0 8 LW * ? *)",  # valid in AWS, but croniter cannot compute it: refused, never mis-scheduled
        "at(2025-01-01 00:00)",
        "every(5 minutes)",
    ],
)
def test_invalid_or_unsupported_expressions_are_refused(expression: str) -> None:
    # Given an expression EventBridge would refuse (or croniter cannot run) / When parsed / Then it is refused
    with pytest.raises(InvalidScheduleExpression):
        parse_schedule(expression)


def test_a_one_time_schedule_fires_once_at_its_local_time() -> None:
    # Given an at() schedule in Paris (UTC+1 in March)
    schedule = parse_schedule("at(2025-03-01T09:00:00)", "Europe/Paris")

    # When asked before and after its time / Then it fires once, at 08:00 UTC
    assert schedule.next_after(NOW) == at(2025, 3, 1, 8, 0)
    assert schedule.next_after(at(2025, 3, 1, 8, 0)) is None


def test_a_cron_in_a_time_zone_follows_its_daylight_saving_time() -> None:
    # Given a 09:30 daily schedule in New York, the day before clocks go forward (9 March 2025)
    schedule = parse_schedule("cron(30 9 * * ? *)", "America/New_York")

    # When the next two times are computed
    first = schedule.next_after(at(2025, 3, 8, 0, 0))
    assert first is not None

    # Then both are 09:30 local: 14:30 UTC in EST, 13:30 UTC in EDT
    assert (first, schedule.next_after(first)) == (at(2025, 3, 8, 14, 30), at(2025, 3, 9, 13, 30))


def test_an_unknown_time_zone_is_refused() -> None:
    # Given a schedule in a zone that does not exist / When parsed / Then it is refused
    with pytest.raises(InvalidScheduleExpression):
        parse_schedule("cron(0 9 * * ? *)", "Mars/Olympus_Mons")


@pytest.mark.parametrize(("value", "scale"), [(None, 1.0), ("", 1.0), ("1", 1.0), ("60", 60.0), ("2.5", 2.5)])
def test_the_time_scale_comes_from_the_environment(value: str | None, scale: float) -> None:
    # Given LOCALCLOUD_TIME_SCALE set (or not) / When read / Then it is the scale
    environ = {} if value is None else {"LOCALCLOUD_TIME_SCALE": value}
    assert time_scale_from_env(environ) == scale


@pytest.mark.parametrize("value", ["0.5", "0", "-3", "fast", "inf", "nan"])
def test_a_time_scale_below_one_or_not_a_number_is_refused(value: str) -> None:
    # Given a time scale that would slow time down or is not a number / When read / Then it is refused
    with pytest.raises(InvalidTimeScale):
        time_scale_from_env({"LOCALCLOUD_TIME_SCALE": value})


def test_the_scaled_clock_runs_faster_by_the_scale() -> None:
    # Given a clock at scale 60 / When a virtual minute is converted / Then it takes one real second
    clock = ScaledClock(60)
    assert clock.real_seconds(60) == 1
    # And it starts at the real time
    assert abs((clock.now() - datetime.datetime.now(UTC)).total_seconds()) < 60


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


def test_a_rate_schedule_fires_under_the_time_scale_with_the_scheduled_event(edge_url: str) -> None:
    # Given an hourly upkeep schedule with a plain and a constant-input target, at time scale 36000
    name = unique("release-expired")
    schedule = Schedule(
        name=name,
        expression="rate(1 hour)",
        targets=(
            Target(kind="lambda", arn=function_arn("release-expired")),
            Target(kind="lambda", arn=function_arn("purge-sessions"), input='{"limit": 100}'),
        ),
    )
    invoke = RecordingInvoke()

    # When the event sources run (an hour is a tenth of a second)
    with EventSources(local_app(schedules=[schedule]), edge_url=edge_url, invoke=invoke, time_scale=36000):
        wait_until(lambda: len(invoke.snapshot()) >= 4, what="two fires of the schedule")

    # Then each fire delivered the Scheduled Event to the first target and the constant to the second, async
    calls = invoke.snapshot()
    scheduled = [c.event for c in calls if c.function == function_arn("release-expired")]
    constant = [c.event for c in calls if c.function == function_arn("purge-sessions")]
    assert len(scheduled) >= 2
    assert constant[:2] == [{"limit": 100}, {"limit": 100}]
    assert {c.invocation_type for c in calls} == {"Event"}
    event = scheduled[0]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["account"] == ACCOUNT_ID
    assert event["region"] == REGION
    assert event["resources"] == [f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{name}"]
    assert event["detail"] == {}
    assert event["version"] == "0"
    assert datetime.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")
    assert scheduled[0]["id"] != scheduled[1]["id"]


def test_a_disabled_schedule_never_fires_and_a_cron_schedule_does(edge_url: str) -> None:
    # Given a disabled every-minute schedule and an enabled every-minute cron, at time scale 600
    disabled = Schedule(unique("off"), "rate(1 minute)", (Target("lambda", function_arn("off")),), enabled=False)
    cron = Schedule(unique("cron"), "cron(* * * * ? *)", (Target("lambda", function_arn("on")),))
    invoke = RecordingInvoke()

    # When the event sources run until the cron fired three times (the rate would have fired by then)
    with EventSources(local_app(schedules=[disabled, cron]), edge_url=edge_url, invoke=invoke, time_scale=600):
        wait_until(lambda: len(invoke.snapshot()) >= 3, what="three cron fires")

    # Then only the enabled schedule's target was invoked
    assert {call.function for call in invoke.snapshot()} == {function_arn("on")}


def test_a_schedule_starts_a_state_machine_execution(edge_url: str) -> None:
    # Given a schedule whose target is a state machine
    stepfunctions = client(edge_url, "stepfunctions")
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
    machine = stepfunctions.create_state_machine(
        name=unique("reconcile"), definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/events"
    )["stateMachineArn"]
    schedule = Schedule(unique("reconcile"), "rate(1 minute)", (Target("states", machine),))

    # When it fires (a minute is a tenth of a second at scale 600)
    with EventSources(local_app(schedules=[schedule]), edge_url=edge_url, invoke=RecordingInvoke(), time_scale=600):
        executions = wait_until(
            lambda: stepfunctions.list_executions(stateMachineArn=machine)["executions"], what="an execution"
        )

    # Then an execution started with the Scheduled Event as its input
    execution = stepfunctions.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(execution["input"])["detail-type"] == "Scheduled Event"


def test_a_schedule_rule_in_moto_does_not_swallow_published_events(edge_url: str) -> None:
    # Given a schedule rule that moto holds with a Lambda target (moto cannot deliver to Lambda targets,
    # and treats a rule without a pattern as matching every event on its bus)
    events = client(edge_url, "events")
    name = unique("purge")
    events.put_rule(Name=name, ScheduleExpression="rate(1 day)")
    events.put_targets(Rule=name, Targets=[{"Id": "fn", "Arn": function_arn("purge")}])
    schedule = Schedule(name, "rate(1 day)", (Target("lambda", function_arn("purge")),))
    try:
        with EventSources(local_app(schedules=[schedule]), edge_url=edge_url, invoke=RecordingInvoke()):
            # When an event is published on the default bus
            response = events.put_events(Entries=[{"Source": "commerce", "DetailType": "Ping", "Detail": "{}"}])

        # Then it is accepted, and the schedule's target lives only in the local cloud
        assert response["FailedEntryCount"] == 0
        assert events.list_targets_by_rule(Rule=name)["Targets"] == []
    finally:
        events.delete_rule(Name=name)


def test_a_scheduler_schedule_sends_its_input_with_context_attributes_or_its_default_notification(
    edge_url: str,
) -> None:
    # Given two EventBridge Scheduler schedules: one with an Input using context attributes, one without Input
    with_input = Schedule(
        unique("expire-checkouts"),
        "rate(1 minute)",
        (Target("lambda", function_arn("expire"), input='{"schedule": "<aws.scheduler.schedule-arn>", "n": 1}'),),
        group="upkeep",
    )
    without_input = Schedule(
        unique("reconcile"), "rate(1 minute)", (Target("lambda", function_arn("plain")),), group="default"
    )
    invoke = RecordingInvoke()

    # When both fire (a minute is a tenth of a second)
    app = local_app(schedules=[with_input, without_input])
    with EventSources(app, edge_url=edge_url, invoke=invoke, time_scale=600):
        wait_until(
            lambda: {c.function for c in invoke.snapshot()} >= {function_arn("expire"), function_arn("plain")},
            what="both",
        )

    # Then the Input arrives with the schedule's ARN filled in, and the other gets Scheduler's notification
    calls = invoke.snapshot()
    templated = next(c.event for c in calls if c.function == function_arn("expire"))
    assert templated == {
        "schedule": f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/upkeep/{with_input.name}",
        "n": 1,
    }
    notification = next(c.event for c in calls if c.function == function_arn("plain"))
    assert notification["source"] == "aws.scheduler"
    assert notification["detail-type"] == "Scheduled Event"
    assert notification["detail"] == "{}"
    assert notification["resources"] == [
        f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/{without_input.name}"
    ]


def test_a_schedule_rule_sends_its_event_to_a_queue_target(edge_url: str) -> None:
    # Given a schedule rule whose target is an SQS queue
    sqs = client(edge_url, "sqs")
    url = sqs.create_queue(QueueName=unique("ticks"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    schedule = Schedule(unique("tick"), "rate(1 minute)", (Target("sqs", queue_arn, input_path="$.detail-type"),))

    # When it fires
    with EventSources(local_app(schedules=[schedule]), edge_url=edge_url, invoke=RecordingInvoke(), time_scale=600):
        messages = wait_until(lambda: sqs.receive_message(QueueUrl=url).get("Messages"), what="a message")

    # Then the queue received the selected part of the Scheduled Event
    assert json.loads(messages[0]["Body"]) == "Scheduled Event"
