"""Schedules: EventBridge schedule rules and EventBridge Scheduler schedules, fired on time and
delivered to their targets (of every kind: nothing else runs schedules locally).

One thread runs every schedule against a `ScaledClock`, so the time scale compresses them all alike.
A rate schedule first fires one period after the local cloud starts (as a new rule does one period
after it is created); a cron schedule fires whenever the virtual clock passes one of its times; a
one-time `at()` schedule fires once when the virtual clock reaches it. Fires missed while the
machine was busy are not made up. Event times are the real wall-clock time of the fire (to the
second): handlers compare them with their own clocks, which the time scale does not move.

What a target receives:
- a schedule rule's target: the Scheduled Event (`source` aws.events, `resources` [rule ARN],
  `detail` {}), shaped by the target's Input, InputPath or InputTransformer;
- a Scheduler schedule's target: its Input, with the context attributes
  (`<aws.scheduler.schedule-arn>`, `<aws.scheduler.scheduled-time>`, `<aws.scheduler.execution-id>`,
  `<aws.scheduler.attempt-number>`) filled in; without Input, Scheduler's default notification
  (`source` aws.scheduler, `resources` [schedule ARN], and `detail` as the string "{}", as AWS sends it).
"""

from __future__ import annotations

import datetime
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from localcloud.event_sources.background import BackgroundLoop
from localcloud.event_sources.targets import TargetDelivery, TargetNotDelivered, target_input
from localcloud.model import Schedule, Target
from localcloud.schedule_expressions import ScheduleExpression, parse_schedule
from localcloud.timescale import ScaledClock

logger = logging.getLogger(__name__)

# With nothing left to fire, check back now and then (stop() still wakes the thread at once).
_IDLE_SECONDS = 60.0


def rule_arn(region: str, account_id: str, rule_name: str, event_bus_name: str = "default") -> str:
    bus = "" if event_bus_name == "default" else f"{event_bus_name}/"
    return f"arn:aws:events:{region}:{account_id}:rule/{bus}{rule_name}"


def schedule_arn(region: str, account_id: str, group: str, name: str) -> str:
    return f"arn:aws:scheduler:{region}:{account_id}:schedule/{group}/{name}"


def _timestamp(at: datetime.datetime) -> str:
    return at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduled_event(*, region: str, account_id: str, rule: str, at: datetime.datetime) -> dict[str, Any]:
    """The event EventBridge sends for a schedule rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": _timestamp(at),
        "region": region,
        "resources": [rule_arn(region, account_id, rule)],
        "detail": {},
    }


def scheduler_input(target: Target, *, region: str, account_id: str, arn: str, at: datetime.datetime) -> str:
    """What an EventBridge Scheduler schedule sends its target."""
    execution_id = uuid.uuid4().hex[:16]
    if target.input is None:
        notification = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.scheduler",
            "account": account_id,
            "time": _timestamp(at),
            "region": region,
            "resources": [arn],
            "detail": "{}",
        }
        return json.dumps(notification)
    context = {
        "<aws.scheduler.schedule-arn>": arn,
        "<aws.scheduler.scheduled-time>": _timestamp(at),
        "<aws.scheduler.execution-id>": execution_id,
        "<aws.scheduler.attempt-number>": "1",
    }
    text = target.input
    for placeholder, value in context.items():
        text = text.replace(placeholder, value)
    return text


@dataclass
class _Entry:
    schedule: Schedule
    expression: ScheduleExpression
    due: datetime.datetime | None  # virtual time of the next fire; None once it never fires again


class Scheduler(BackgroundLoop):
    def __init__(
        self,
        schedules: list[Schedule],
        *,
        delivery: TargetDelivery,
        clock: ScaledClock,
        region: str,
        account_id: str,
    ) -> None:
        super().__init__(name="scheduler")
        self._delivery = delivery
        self._clock = clock
        self._region = region
        self._account_id = account_id
        # Parsed up front: an invalid expression stops the local cloud from starting, as a deploy would fail.
        self._entries = [
            _Entry(schedule=s, expression=parse_schedule(s.expression, s.timezone), due=None)
            for s in schedules
            if s.enabled
        ]

    def start(self) -> None:
        now = self._clock.now()
        for entry in self._entries:
            entry.due = entry.expression.next_after(now)
        super().start()

    def step(self) -> float:
        now = self._clock.now()
        for entry in self._entries:
            if entry.due is not None and entry.due <= now:
                self._fire(entry.schedule)
                following = entry.expression.next_after(entry.due)
                if following is not None and following <= now:
                    following = entry.expression.next_after(now)  # skip what was missed
                entry.due = following
        upcoming = [entry.due for entry in self._entries if entry.due is not None]
        if not upcoming:
            return _IDLE_SECONDS
        return self._clock.real_seconds((min(upcoming) - self._clock.now()).total_seconds())

    def run_now(self, delivery: TargetDelivery) -> list[dict[str, str]]:
        """Fire every enabled schedule once, now, through `delivery`'s waiting `run` (its due times unchanged):
        one `{"rule", "target", "status"}` per target, in template order, once each has finished."""
        ran = []
        for entry in self._entries:
            for target, payload in self._payloads(entry.schedule):
                try:
                    status = delivery.run(target, payload)
                except Exception:
                    logger.exception("schedule %s: %s did not take the event", entry.schedule.name, target.arn)
                    status = "NOT_DELIVERED"
                ran.append({"rule": entry.schedule.name, "target": target.arn, "status": status})
        return ran

    def _fire(self, schedule: Schedule) -> None:
        for target, payload in self._payloads(schedule):
            try:
                self._delivery.deliver(target, payload)
            except TargetNotDelivered as error:
                logger.warning("schedule %s: not delivered to %s: %s", schedule.name, target.arn, error)
            except Exception:
                # One unreachable target must neither keep the others from their event nor re-fire the schedule.
                logger.exception("schedule %s: delivery to %s failed", schedule.name, target.arn)

    def _payloads(self, schedule: Schedule) -> list[tuple[Target, str]]:
        """What each target of `schedule` receives for a fire now (a target whose input cannot be built is left out)."""
        at = datetime.datetime.now(datetime.UTC)
        event = None
        if schedule.group is None:
            event = scheduled_event(region=self._region, account_id=self._account_id, rule=schedule.name, at=at)
        payloads = []
        for target in schedule.targets:
            try:
                if event is not None:
                    payload = target_input(target, event)
                else:
                    arn = schedule_arn(self._region, self._account_id, schedule.group or "default", schedule.name)
                    payload = scheduler_input(target, region=self._region, account_id=self._account_id, arn=arn, at=at)
            except Exception:
                logger.exception("schedule %s: no input for %s", schedule.name, target.arn)
                continue
            payloads.append((target, payload))
        return payloads
