"""Data API results (`records` of `Field`s with `columnMetadata`) as rows of plain Python values.

Strings stay strings (timestamps, uuids and json included: the SQL renders what it wants parsed, e.g.
as JSON text), longs are ints, booleans bools, NULL is None; arrays become lists.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

Row = dict[str, Any]


def rows_of(response: Mapping[str, Any]) -> list[Row]:
    names = [str(column.get("label") or column.get("name")) for column in response.get("columnMetadata", [])]
    rows = []
    for record in response.get("records", []):
        if len(record) != len(names):
            raise ValueError("a Data API record does not match its column metadata")
        rows.append({name: field_value(field) for name, field in zip(names, record, strict=True)})
    return rows


def field_value(field: Mapping[str, Any]) -> Any:
    if field.get("isNull"):
        return None
    for member in ("stringValue", "longValue", "booleanValue", "doubleValue"):
        if member in field:
            return field[member]
    if "blobValue" in field:
        blob = field["blobValue"]
        return blob if isinstance(blob, bytes) else base64.b64decode(blob)
    if "arrayValue" in field:
        return array_value(field["arrayValue"])
    raise ValueError(f"unknown Data API field: {sorted(field)}")


def array_value(array: Mapping[str, Any]) -> list[Any]:
    for member in ("stringValues", "longValues", "booleanValues", "doubleValues"):
        if member in array:
            return list(array[member])
    nested: Sequence[Mapping[str, Any]] = array.get("arrayValues", [])
    return [array_value(item) for item in nested]
