"""The one clock of the domain: what "now" is, and the API's timestamp form.

Code that needs the time takes a `Clock` (default `utc_now`) so tests can pass a fixed or stepping one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """UTC, millisecond precision, `Z` suffix: the API's timestamp form."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
