"""Lambda event filtering (FilterCriteria) for event source mappings, with moto's pattern matcher.

Lambda filters use EventBridge's pattern syntax, so the patterns are matched by moto's own
`EventPattern` (the matcher moto applies to EventBridge rules), never a second, hand-written one.
A record passes when any pattern matches it, or when there are no patterns.
"""

from __future__ import annotations

import json
from typing import Any

from moto.events.models import EventPattern


class RecordFilter:
    def __init__(self, patterns: tuple[dict[str, Any], ...]) -> None:
        self._patterns = [EventPattern.load(json.dumps(pattern)) for pattern in patterns]

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def __call__(self, record: dict[str, Any]) -> bool:
        return not self._patterns or any(pattern.matches_event(record) for pattern in self._patterns)  # type: ignore[arg-type]


def sqs_filter_subject(record: dict[str, Any]) -> dict[str, Any]:
    """What SQS filter patterns see: the record, with a JSON body parsed (so `body.key` can be matched)."""
    try:
        body = json.loads(record["body"])
    except ValueError:
        return record
    return {**record, "body": body}
