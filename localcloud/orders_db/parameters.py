"""Data API parameters (`SqlParameter`) bound to PostgreSQL with the types the real Data API sends.

The Data API hands parameters to PostgreSQL through its JDBC driver, so each one arrives *typed*: a
`stringValue` is a `varchar`, a `longValue` a `bigint`, a `doubleValue` a `double precision`; a `typeHint`
turns a string into a `date`, `time`, `timestamp`, `numeric`, `json` or `uuid`. Binding the same way here
means SQL that needs a cast or a type hint on Aurora fails locally too (for example a plain string into a
`uuid` column: "column ... is of type uuid but expression is of type character varying").
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import psycopg
from psycopg.adapt import AdaptersMap, Dumper
from psycopg.pq import Format

from localcloud.orders_db.errors import BadRequestException


@dataclass(frozen=True)
class TypedParameter:
    """A parameter value in PostgreSQL's text input form, sent with the type `oid`."""

    text: str
    oid: ClassVar[int] = 0


class VarcharParameter(TypedParameter):
    oid = 1043


class BigintParameter(TypedParameter):
    oid = 20


class DoubleParameter(TypedParameter):
    oid = 701


class BooleanParameter(TypedParameter):
    oid = 16


class ByteaParameter(TypedParameter):
    oid = 17


class DateParameter(TypedParameter):
    oid = 1082


class TimeParameter(TypedParameter):
    oid = 1083


class TimestampParameter(TypedParameter):
    oid = 1114


class NumericParameter(TypedParameter):
    oid = 1700


class JsonParameter(TypedParameter):
    oid = 114


class UuidParameter(TypedParameter):
    oid = 2950


_PARAMETER_CLASSES: tuple[type[TypedParameter], ...] = (
    VarcharParameter,
    BigintParameter,
    DoubleParameter,
    BooleanParameter,
    ByteaParameter,
    DateParameter,
    TimeParameter,
    TimestampParameter,
    NumericParameter,
    JsonParameter,
    UuidParameter,
)


class _TypedParameterDumper(Dumper):
    format = Format.TEXT

    def dump(self, obj: Any) -> bytes:
        return str(obj.text).encode()


def parameter_adapters() -> AdaptersMap:
    """psycopg adapters that send every `TypedParameter` with its own type oid (a copy of the defaults)."""
    adapters = AdaptersMap(psycopg.adapters)
    for cls in _PARAMETER_CLASSES:
        dumper = type(f"{cls.__name__}Dumper", (_TypedParameterDumper,), {"oid": cls.oid})
        adapters.register_dumper(cls, dumper)
    return adapters


# The accepted formats the Data API documents for its type hints (SqlParameter.typeHint).
_HINT_FORMATS = {
    "DATE": (re.compile(r"\d{4}-\d{1,2}-\d{1,2}"), "YYYY-MM-DD"),
    "TIME": (re.compile(r"\d{1,2}:\d{1,2}:\d{1,2}(\.\d{1,9})?"), "HH:MM:SS[.FFF]"),
    "TIMESTAMP": (
        re.compile(r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{1,2}:\d{1,2}(\.\d{1,9})?"),
        "YYYY-MM-DD HH:MM:SS[.FFF]",
    ),
    "DECIMAL": (re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"), "a decimal number"),
}
_HINTED: dict[str, type[TypedParameter]] = {
    "DATE": DateParameter,
    "TIME": TimeParameter,
    "TIMESTAMP": TimestampParameter,
    "DECIMAL": NumericParameter,
    "JSON": JsonParameter,
    "UUID": UuidParameter,
}
_FIELD_MEMBERS = ("isNull", "booleanValue", "longValue", "doubleValue", "stringValue", "blobValue", "arrayValue")


def bind_parameters(parameters: Sequence[Mapping[str, Any]]) -> dict[str, TypedParameter | None]:
    """Named values for psycopg from a request's `parameters` (None is SQL NULL)."""
    bound: dict[str, TypedParameter | None] = {}
    for parameter in parameters:
        name = parameter.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequestException("Parameter name must be specified")
        value = parameter.get("value")
        if not isinstance(value, Mapping):
            raise BadRequestException(f"Parameter '{name}' has no value")
        bound[name] = bind_value(name, value, parameter.get("typeHint"))
    return bound


def bind_value(name: str, field: Mapping[str, Any], type_hint: str | None) -> TypedParameter | None:
    members = [member for member in _FIELD_MEMBERS if field.get(member) is not None]
    if len(members) != 1:
        raise BadRequestException(f"Parameter '{name}' must set exactly one value member")
    member = members[0]
    value = field[member]
    if type_hint is not None and type_hint not in _HINTED:
        raise BadRequestException(f"Invalid typeHint '{type_hint}' for parameter '{name}'")
    if member == "arrayValue":
        raise BadRequestException("Array parameters are not supported.")
    if member == "isNull":
        if value is not True:
            raise BadRequestException(f"Parameter '{name}': isNull can only be true")
        return None
    if member == "stringValue":
        text = str(value)
        if type_hint is None:
            return VarcharParameter(text)
        _check_hint_format(name, text, type_hint)
        return _HINTED[type_hint](text)
    if member == "booleanValue":
        return BooleanParameter("true" if value else "false")
    if member == "longValue":
        return BigintParameter(str(_as_long(name, value)))
    if member == "doubleValue":
        return DoubleParameter(repr(_as_double(name, value)))
    return ByteaParameter("\\x" + _as_blob(name, value).hex())


def _check_hint_format(name: str, text: str, type_hint: str) -> None:
    if type_hint not in _HINT_FORMATS:
        return  # JSON and UUID are checked by PostgreSQL's own input functions
    pattern, expected = _HINT_FORMATS[type_hint]
    if not pattern.fullmatch(text):
        raise BadRequestException(f"Cannot convert parameter '{name}' to {type_hint}: expected format {expected}")


def _as_long(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequestException(f"Parameter '{name}': longValue must be an integer")
    if not -(2**63) <= value < 2**63:
        raise BadRequestException(f"Parameter '{name}': longValue out of range")
    return value


def _as_double(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequestException(f"Parameter '{name}': doubleValue must be a number")
    return float(value)


def _as_blob(name: str, value: Any) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadRequestException(f"Parameter '{name}': blobValue must be base64") from error
