"""Result values as the Data API returns them: `Field` unions in `records`, or plain JSON in `formattedRecords`.

Values are read in PostgreSQL's text output form and mapped the way the Data API maps its JDBC types:
booleans, integers and floats keep their type; `numeric` is a string unless the caller asks for
`DOUBLE_OR_LONG`; `bytea` is a blob; arrays become `arrayValue`; everything else (dates, timestamps, uuid,
json, enums, intervals, ...) is a string in PostgreSQL's own format. Sessions run in UTC, as Aurora's
default parameter group does, and `timestamptz` values are returned in UTC without an offset.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from localcloud.orders_db.catalog import PgType


class ValueKind(Enum):
    BOOLEAN = "boolean"
    LONG = "long"
    DOUBLE = "double"
    DECIMAL = "decimal"
    BLOB = "blob"
    TIMESTAMPTZ = "timestamptz"
    STRING = "string"


_KINDS_BY_OID = {
    16: ValueKind.BOOLEAN,
    20: ValueKind.LONG,  # int8
    21: ValueKind.LONG,  # int2
    23: ValueKind.LONG,  # int4
    26: ValueKind.LONG,  # oid
    700: ValueKind.DOUBLE,  # float4
    701: ValueKind.DOUBLE,  # float8
    1700: ValueKind.DECIMAL,
    17: ValueKind.BLOB,
    1184: ValueKind.TIMESTAMPTZ,
}


def value_kind(oid: int) -> ValueKind:
    return _KINDS_BY_OID.get(oid, ValueKind.STRING)


@dataclass(frozen=True)
class ResultOptions:
    """`resultSetOptions` of an ExecuteStatement request."""

    long_as_string: bool = False  # longReturnType STRING
    decimal_as_number: bool = False  # decimalReturnType DOUBLE_OR_LONG

    @classmethod
    def from_request(cls, options: Mapping[str, Any] | None) -> ResultOptions:
        options = options or {}
        return cls(
            long_as_string=options.get("longReturnType") == "STRING",
            decimal_as_number=options.get("decimalReturnType") == "DOUBLE_OR_LONG",
        )


@dataclass(frozen=True)
class ColumnReader:
    """Turns one result column's raw text values into Data API values."""

    kind: ValueKind
    element_kind: ValueKind | None  # set for array columns
    delimiter: str
    options: ResultOptions

    @classmethod
    def for_type(cls, pg_type: PgType | None, types: Mapping[int, PgType], options: ResultOptions) -> ColumnReader:
        if pg_type is not None and pg_type.is_array:
            element = types.get(pg_type.element_oid)
            delimiter = element.delimiter if element else ","
            return cls(ValueKind.STRING, value_kind(pg_type.element_oid), delimiter, options)
        return cls(value_kind(pg_type.oid) if pg_type else ValueKind.STRING, None, ",", options)

    def field(self, raw: bytes | None) -> dict[str, Any]:
        """The `Field` union for one value of a `records` row."""
        if raw is None:
            return {"isNull": True}
        text = raw.decode()
        if self.element_kind is not None:
            return {"arrayValue": self._array_value(parse_array(text, self.delimiter))}
        kind = self.kind
        if kind is ValueKind.BOOLEAN:
            return {"booleanValue": text == "t"}
        if kind is ValueKind.LONG:
            return {"stringValue": text} if self.options.long_as_string else {"longValue": int(text)}
        if kind is ValueKind.DOUBLE:
            return {"doubleValue": float(text)}
        if kind is ValueKind.DECIMAL and self.options.decimal_as_number:
            number = _decimal_number(text)
            return {"longValue": number} if isinstance(number, int) else {"doubleValue": number}
        if kind is ValueKind.BLOB:
            return {"blobValue": base64.b64encode(_bytea(text)).decode()}
        if kind is ValueKind.TIMESTAMPTZ:
            return {"stringValue": utc_timestamp(text)}
        return {"stringValue": text}

    def json_value(self, raw: bytes | None) -> Any:
        """The value in a `formattedRecords` object: JSON numbers, booleans, strings, arrays and null."""
        if raw is None:
            return None
        text = raw.decode()
        if self.element_kind is not None:
            return _map_nested(
                parse_array(text, self.delimiter), lambda item: self._json_scalar(self.element_kind, item)
            )
        return self._json_scalar(self.kind, text)

    def _json_scalar(self, kind: ValueKind | None, text: str | None) -> Any:
        if text is None:
            return None
        if kind is ValueKind.BOOLEAN:
            return text in ("t", "true")
        if kind is ValueKind.LONG:
            return text if self.options.long_as_string else int(text)
        if kind is ValueKind.DOUBLE:
            number = float(text)
            # JSON has no NaN or infinities; PostgreSQL's spelling keeps the string valid JSON.
            return number if math.isfinite(number) else text
        if kind is ValueKind.DECIMAL and self.options.decimal_as_number:
            decimal = _decimal_number(text)
            return decimal if isinstance(decimal, int) or math.isfinite(decimal) else text
        if kind is ValueKind.BLOB:
            return base64.b64encode(_bytea(text)).decode()
        if kind is ValueKind.TIMESTAMPTZ:
            return utc_timestamp(text)
        return text

    def _array_value(self, items: list[Any]) -> dict[str, Any]:
        if any(isinstance(item, list) for item in items):
            return {"arrayValues": [self._array_value(item if isinstance(item, list) else [item]) for item in items]}
        kind = self.element_kind
        if kind is ValueKind.BOOLEAN:
            return {"booleanValues": [None if item is None else item in ("t", "true") for item in items]}
        if kind is ValueKind.LONG and not self.options.long_as_string:
            return {"longValues": [None if item is None else int(item) for item in items]}
        if kind is ValueKind.DOUBLE:
            return {"doubleValues": [None if item is None else float(item) for item in items]}
        if kind is ValueKind.TIMESTAMPTZ:
            return {"stringValues": [None if item is None else utc_timestamp(item) for item in items]}
        return {"stringValues": items}


def _map_nested(items: list[Any], convert: Callable[[str | None], Any]) -> list[Any]:
    return [_map_nested(item, convert) if isinstance(item, list) else convert(item) for item in items]


def _decimal_number(text: str) -> int | float:
    """DOUBLE_OR_LONG: a long when the value has no fractional digits, else a double."""
    try:
        decimal = Decimal(text)
    except InvalidOperation:
        return float("nan")
    if decimal.is_finite() and int(decimal.as_tuple().exponent) >= 0:
        return int(decimal)
    return float(decimal)


def _bytea(text: str) -> bytes:
    if text.startswith("\\x"):
        return bytes.fromhex(text[2:])
    raise ValueError("bytea values must use bytea_output = hex")


_TIMESTAMPTZ = re.compile(
    r"(?P<local>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?P<fraction>\.\d+)?"
    r"(?P<sign>[+-])(?P<hours>\d\d)(?::(?P<minutes>\d\d))?(?::(?P<seconds>\d\d))?(?P<era> BC)?"
)


def utc_timestamp(text: str) -> str:
    """A `timestamptz` in PostgreSQL's text form, in UTC and without its offset ("2024-05-01 12:00:00.5")."""
    match = _TIMESTAMPTZ.fullmatch(text)
    if match is None:
        return text  # infinity, -infinity, or a year beyond 9999: nothing to convert
    fraction = match["fraction"] or ""
    era = match["era"] or ""
    offset = timedelta(
        hours=int(match["hours"]), minutes=int(match["minutes"] or 0), seconds=int(match["seconds"] or 0)
    )
    if not offset or era:
        return f"{match['local']}{fraction}{era}"
    sign = 1 if match["sign"] == "+" else -1
    utc = datetime.strptime(match["local"], "%Y-%m-%d %H:%M:%S") - sign * offset
    return f"{utc:%Y-%m-%d %H:%M:%S}{fraction}"


def parse_array(text: str, delimiter: str = ",") -> list[Any]:
    """A PostgreSQL array literal ("{1,NULL,\"a b\"}", nested for more dimensions) as nested lists of str/None."""
    if text.startswith("["):
        text = text[text.index("=") + 1 :]  # explicit bounds ("[0:1]={...}") say nothing the values don't
    items, end = _parse_array_at(text, 0, delimiter)
    if text[end:].strip():
        raise ValueError(f"trailing characters after array literal: {text!r}")
    return items


def _parse_array_at(text: str, start: int, delimiter: str) -> tuple[list[Any], int]:
    if text[start] != "{":
        raise ValueError(f"array literal expected at {start}: {text!r}")
    items: list[Any] = []
    i = _skip_spaces(text, start + 1)
    if text[i] == "}":
        return items, i + 1
    while True:
        i = _skip_spaces(text, i)
        if text[i] == "{":
            sub, i = _parse_array_at(text, i, delimiter)
            items.append(sub)
        elif text[i] == '"':
            value, i = _parse_quoted(text, i)
            items.append(value)
        else:
            end = i
            while text[end] not in (delimiter, "}"):
                end += 1
            token = text[i:end].strip()
            items.append(None if token.upper() == "NULL" else token.replace("\\", ""))
            i = end
        i = _skip_spaces(text, i)
        if text[i] == delimiter:
            i += 1
        elif text[i] == "}":
            return items, i + 1
        else:
            raise ValueError(f"unexpected {text[i]!r} in array literal: {text!r}")


def _parse_quoted(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    while text[i] != '"':
        if text[i] == "\\":
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out), i + 1


def _skip_spaces(text: str, i: int) -> int:
    while text[i].isspace():
        i += 1
    return i
