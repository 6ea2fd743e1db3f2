"""The domain events' JSON Schemas (events/schemas/<detail-type>.json), to check what the code publishes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from commerce.adapters.events import SOURCE
from tests.support.lambda_events import EVENTS

SCHEMAS = EVENTS / "schemas"


@cache
def validator(detail_type: str) -> Draft202012Validator:
    path = SCHEMAS / f"{detail_type}.json"
    assert path.is_file(), f"{detail_type} has no schema in events/schemas/"
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def check_detail(detail_type: str, detail: Mapping[str, Any]) -> None:
    """Raise jsonschema.ValidationError when `detail` (as published, its version included) breaks its schema."""
    validator(detail_type).validate(dict(detail))


def check_event(event: Mapping[str, Any]) -> None:
    """An EventBridge event as a subscriber receives it: from `commerce`, its detail as its schema says."""
    assert event["source"] == SOURCE, event
    check_detail(str(event["detail-type"]), event["detail"])
