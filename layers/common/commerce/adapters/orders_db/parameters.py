"""Python values as Data API `SqlParameter`s, typed the way PostgreSQL needs them.

The Data API sends a `stringValue` as `varchar`; anything else needs a `typeHint` (or a cast in the SQL):
`Uuid` -> UUID, `Json` -> JSON, an aware `datetime` -> TIMESTAMP in UTC, formatted `YYYY-MM-DD
HH:MM:SS.FFF` (the documented format: SQL turns it into `timestamptz` with `AT TIME ZONE 'UTC'`).
Integers are `longValue` (bigint), booleans `booleanValue`, None is `isNull`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_rds_data.type_defs import SqlParameterTypeDef


@dataclass(frozen=True)
class Uuid:
    value: str


@dataclass(frozen=True)
class Json:
    value: Any


def timestamp_text(moment: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS.FFF` in UTC. Orders hold milliseconds, so finer values are refused, not rounded."""
    if moment.tzinfo is None:
        raise ValueError("timestamps sent to the orders database must be timezone-aware")
    if moment.microsecond % 1000:
        raise ValueError(f"{moment.isoformat()} is finer than a millisecond")
    # isoformat, not strftime: glibc's %Y does not pad years before 1000 to the four digits the Data API needs.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds")


def sql_parameters(values: Mapping[str, Any] | None) -> list[SqlParameterTypeDef]:
    return [sql_parameter(name, value) for name, value in (values or {}).items()]


def sql_parameter(name: str, value: Any) -> SqlParameterTypeDef:
    if value is None:
        return {"name": name, "value": {"isNull": True}}
    if isinstance(value, bool):
        return {"name": name, "value": {"booleanValue": value}}
    if isinstance(value, int):
        return {"name": name, "value": {"longValue": value}}
    if isinstance(value, str):
        return {"name": name, "value": {"stringValue": value}}
    if isinstance(value, datetime):
        return {"name": name, "value": {"stringValue": timestamp_text(value)}, "typeHint": "TIMESTAMP"}
    if isinstance(value, Uuid | uuid.UUID):
        text = str(uuid.UUID(str(value.value if isinstance(value, Uuid) else value)))
        return {"name": name, "value": {"stringValue": text}, "typeHint": "UUID"}
    if isinstance(value, Json):
        text = json.dumps(value.value, separators=(",", ":"), ensure_ascii=False)
        return {"name": name, "value": {"stringValue": text}, "typeHint": "JSON"}
    raise TypeError(f"parameter {name!r}: no Data API mapping for {type(value).__name__}")
