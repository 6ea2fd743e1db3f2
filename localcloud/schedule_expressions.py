"""Schedule expressions: `rate(value unit)`, AWS's six-field `cron(...)` and EventBridge Scheduler's
one-time `at(yyyy-mm-ddThh:mm:ss)`, in UTC or in the schedule's time zone.

AWS's cron is Quartz-like: `cron(minutes hours day-of-month month day-of-week year)`, one of the two day
fields must be `?`, day-of-week counts 1-7 from SUN (croniter counts 0-6 from SUN), and `L`, `W` and
`#` select the last day, the nearest weekday and the nth weekday. The expression is translated field by
field into croniter's seven-field form (seconds fixed at 0, then the year) and croniter computes the
times, in the time zone when one is given (EventBridge Scheduler's ScheduleExpressionTimezone, with
its daylight-saving rules). What croniter cannot express (`LW`, `L-3`) is refused when the schedule is
loaded, as a deployment refuses an invalid expression: never silently mis-scheduled.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo
from dataclasses import dataclass
from typing import Protocol

from croniter import CroniterBadDateError, croniter

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_WEEKDAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_DOW_NTH = re.compile(r"^(\w+)#([1-5])$")
_DOW_LAST = re.compile(r"^(\w+)L$")
_DOW_RANGE = re.compile(r"^(\w+)-(\w+)(/\d+)?$")
_DOW_STEP = re.compile(r"^(\w+|\*)/(\d+)$")


class InvalidScheduleExpression(ValueError):
    """An expression EventBridge would refuse, or one croniter cannot compute."""


class ScheduleExpression(Protocol):
    def next_after(self, moment: datetime.datetime) -> datetime.datetime | None:
        """The first time strictly after `moment` (an aware UTC datetime) the schedule fires; None if never."""
        ...


@dataclass(frozen=True)
class Rate:
    seconds: int

    def next_after(self, moment: datetime.datetime) -> datetime.datetime | None:
        return moment + datetime.timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class Cron:
    croniter_expression: str
    zone: datetime.tzinfo

    def next_after(self, moment: datetime.datetime) -> datetime.datetime | None:
        try:
            following = croniter(self.croniter_expression, moment.astimezone(self.zone)).get_next(datetime.datetime)
        except CroniterBadDateError:
            return None  # a year field that has run out: the schedule never fires again
        return following.astimezone(datetime.UTC)


@dataclass(frozen=True)
class At:
    moment: datetime.datetime  # aware, UTC

    def next_after(self, moment: datetime.datetime) -> datetime.datetime | None:
        return self.moment if self.moment > moment else None


def parse_schedule(expression: str, timezone: str | None = None) -> Rate | Cron | At:
    """Parse a ScheduleExpression; InvalidScheduleExpression for anything AWS would refuse."""
    zone = _zone(timezone, expression)
    text = expression.strip()
    if rate := _RATE.match(text):
        return _parse_rate(int(rate.group(1)), rate.group(2), expression)
    if cron := _CRON.match(text):
        return _parse_cron(cron.group(1), expression, zone)
    if at := _AT.match(text):
        local = datetime.datetime.fromisoformat(at.group(1)).replace(tzinfo=zone)
        return At(moment=local.astimezone(datetime.UTC))
    raise InvalidScheduleExpression(f"not a schedule expression: {expression!r}")


def _zone(timezone: str | None, expression: str) -> datetime.tzinfo:
    if not timezone:
        return datetime.UTC
    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidScheduleExpression(f"unknown time zone {timezone!r} for {expression!r}") from None


def _parse_rate(value: int, unit: str, expression: str) -> Rate:
    # EventBridge insists on "1 minute" but "5 minutes".
    singular = unit.rstrip("s")
    if value < 1 or (value == 1) != (unit == singular):
        advice = f"use 'rate(1 {singular})' or 'rate(N {singular}s)'"
        raise InvalidScheduleExpression(f"invalid rate expression {expression!r}: {advice}")
    return Rate(seconds=value * _UNIT_SECONDS[singular])


def _parse_cron(body: str, expression: str, zone: datetime.tzinfo) -> Cron:
    fields = tuple(body.split())
    if len(fields) != 6:
        raise InvalidScheduleExpression(f"invalid cron expression {expression!r}: six fields expected")
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise InvalidScheduleExpression(f"invalid cron expression {expression!r}: exactly one day field must be '?'")
    translated = " ".join(
        (minutes, hours, _day_of_month(day_of_month, expression), month, _day_of_week(day_of_week, expression))
    )
    croniter_expression = f"{translated} 0 {year}"
    if not croniter.is_valid(croniter_expression):
        raise InvalidScheduleExpression(f"unsupported cron expression {expression!r}")
    return Cron(croniter_expression=croniter_expression, zone=zone)


def _day_of_month(field: str, expression: str) -> str:
    if field.upper() == "LW" or re.match(r"^L-\d+$", field.upper()):
        raise InvalidScheduleExpression(f"unsupported day-of-month {field!r} in {expression!r}")
    return field


def _day_of_week(field: str, expression: str) -> str:
    if field in ("?", "*"):
        return field
    return ",".join(_day_of_week_item(item, expression) for item in field.split(","))


def _day_of_week_item(item: str, expression: str) -> str:
    upper = item.upper()
    if upper == "L":
        return "6"  # on its own, L in the day-of-week field is the last day of the week: Saturday
    if nth := _DOW_NTH.match(upper):
        return f"{_weekday(nth.group(1), expression)}#{nth.group(2)}"
    if last := _DOW_LAST.match(upper):
        return f"L{_weekday(last.group(1), expression)}"
    if span := _DOW_RANGE.match(upper):
        return f"{_weekday(span.group(1), expression)}-{_weekday(span.group(2), expression)}{span.group(3) or ''}"
    if step := _DOW_STEP.match(upper):
        start = "*" if step.group(1) == "*" else _weekday(step.group(1), expression)
        return f"{start}/{step.group(2)}"
    return _weekday(upper, expression)


def _weekday(token: str, expression: str) -> str:
    """AWS's 1 (SUN) .. 7 (SAT) or a name, as croniter's 0 (SUN) .. 6 (SAT)."""
    if token.isdigit():
        number = int(token)
        if not 1 <= number <= 7:
            raise InvalidScheduleExpression(f"day-of-week {token} out of 1-7 in {expression!r}")
        return str(number - 1)
    if token in _WEEKDAY_NAMES:
        return str(_WEEKDAY_NAMES.index(token))
    raise InvalidScheduleExpression(f"invalid day-of-week {token!r} in {expression!r}")
