"""`columnMetadata` entries as the Data API reports them for Aurora PostgreSQL.

The real service fills these from its JDBC driver's `ResultSetMetaData`, so the numbers are JDBC's:
`type` is a `java.sql.Types` code, `precision`/`scale` follow pgjdbc's rules for each PostgreSQL type, and
`typeName` is the PostgreSQL type name ("serial"/"bigserial" for auto-increment integer columns).
`schemaName` is always empty (pgjdbc does not report it); `tableName` is the source table, if any.
"""

from __future__ import annotations

from typing import Any

from localcloud.orders_db.catalog import PgType, SourceColumn

# java.sql.Types
BIT, SMALLINT, INTEGER, BIGINT, REAL, DOUBLE, NUMERIC = -7, 5, 4, -5, 7, 8, 2
CHAR, VARCHAR, BINARY, DATE, TIME, TIMESTAMP = 1, 12, -2, 91, 92, 93
OTHER, ARRAY, SQLXML, REF_CURSOR = 1111, 2003, 2009, 2012

_JDBC_TYPES = {
    "int2": SMALLINT,
    "int4": INTEGER,
    "oid": BIGINT,
    "int8": BIGINT,
    "money": DOUBLE,
    "numeric": NUMERIC,
    "float4": REAL,
    "float8": DOUBLE,
    "char": CHAR,
    "bpchar": CHAR,
    "varchar": VARCHAR,
    "text": VARCHAR,
    "name": VARCHAR,
    "bytea": BINARY,
    "bool": BIT,
    "bit": BIT,
    "date": DATE,
    "time": TIME,
    "timetz": TIME,
    "timestamp": TIMESTAMP,
    "timestamptz": TIMESTAMP,
    "refcursor": REF_CURSOR,
    "xml": SQLXML,
}
_NOT_CASE_SENSITIVE = {
    "oid", "int2", "int4", "int8", "float4", "float8", "numeric", "bool", "bit", "varbit",
    "date", "time", "timetz", "timestamp", "timestamptz", "interval",
}  # fmt: skip
_SIGNED = {"int2", "int4", "int8", "float4", "float8", "numeric"}
_SERIAL_NAMES = {"int2": "smallserial", "int4": "serial", "int8": "bigserial"}
_UNKNOWN_LENGTH = 2147483647
_COLUMN_NULLABLE, _COLUMN_NO_NULLS = 1, 0  # java.sql.ResultSetMetaData.columnNullable / columnNoNulls


def jdbc_type(pg_type: PgType | None) -> int:
    if pg_type is None:
        return OTHER
    if pg_type.is_array:
        return ARRAY
    return _JDBC_TYPES.get(pg_type.name, OTHER)


def column_metadata(
    label: str,
    pg_type: PgType | None,
    typmod: int,
    source: SourceColumn | None,
    element_type: PgType | None,
) -> dict[str, Any]:
    type_name = pg_type.name if pg_type else "unknown"
    auto_increment = bool(source and source.auto_increment)
    if auto_increment and type_name in _SERIAL_NAMES:
        type_name = _SERIAL_NAMES[type_name]
    base_name = pg_type.name if pg_type else ""
    return {
        "name": label,
        "type": jdbc_type(pg_type),
        "typeName": type_name,
        "label": label,
        "schemaName": "",
        "tableName": source.table if source else "",
        "isAutoIncrement": auto_increment,
        "isSigned": base_name in _SIGNED,
        "isCurrency": base_name == "money",
        "isCaseSensitive": base_name not in _NOT_CASE_SENSITIVE,
        "nullable": _COLUMN_NO_NULLS if source and source.not_null else _COLUMN_NULLABLE,
        "precision": precision(base_name, typmod),
        "scale": scale(base_name, typmod),
        "arrayBaseColumnType": jdbc_type(element_type) if pg_type and pg_type.is_array else 0,
    }


def precision(type_name: str, typmod: int) -> int:
    """pgjdbc's TypeInfoCache.getPrecision."""
    fixed = {"int2": 5, "oid": 10, "int4": 10, "int8": 19, "float4": 8, "float8": 17, "char": 1, "bool": 1}
    if type_name in fixed:
        return fixed[type_name]
    if type_name == "numeric":
        return 0 if typmod == -1 else ((typmod - 4) >> 16) & 0xFFFF
    if type_name in ("bpchar", "varchar"):
        return _UNKNOWN_LENGTH if typmod == -1 else typmod - 4
    if type_name in ("date", "time", "timetz", "timestamp", "timestamptz", "interval"):
        return display_size(type_name, typmod)
    if type_name == "bit":
        return typmod
    if type_name == "varbit":
        return _UNKNOWN_LENGTH if typmod == -1 else typmod
    return _UNKNOWN_LENGTH


def scale(type_name: str, typmod: int) -> int:
    """pgjdbc's TypeInfoCache.getScale."""
    if type_name == "float4":
        return 8
    if type_name == "float8":
        return 17
    if type_name == "numeric":
        return 0 if typmod == -1 else (typmod - 4) & 0xFFFF
    if type_name in ("time", "timetz", "timestamp", "timestamptz"):
        return 6 if typmod == -1 else typmod
    if type_name == "interval":
        return 6 if typmod == -1 else typmod & 0xFFFF
    return 0


def display_size(type_name: str, typmod: int) -> int:
    """pgjdbc's TypeInfoCache.getDisplaySize for the date and time types."""
    if type_name == "date":
        return 13
    if type_name == "interval":
        return 49
    seconds = 6 if typmod == -1 else typmod
    fraction = seconds + 1 if seconds > 0 else 0
    sizes = {"time": 8, "timetz": 8 + 6, "timestamp": 13 + 1 + 8, "timestamptz": 13 + 1 + 8 + 6}
    return sizes[type_name] + fraction
