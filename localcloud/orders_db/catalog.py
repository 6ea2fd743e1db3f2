"""What PostgreSQL's catalog says about result columns: their types and the table columns they come from.

A result set names its column types only by oid and its sources only by (table oid, column number). The
Data API turns those into type names, array element types, nullability and auto-increment flags by asking
the catalog, as its JDBC driver does; the lookups run on the statement's own connection so that tables and
types created inside an open transaction are found too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg


@dataclass(frozen=True)
class PgType:
    oid: int
    name: str  # pg_type.typname: "int4", "_text" (an array of text), "order_status"
    category: str  # pg_type.typcategory: "A" array, "N" numeric, "S" string, ...
    element_oid: int  # pg_type.typelem of an array type, else 0
    delimiter: str  # pg_type.typdelim, the separator of this type's values in an array literal

    @property
    def is_array(self) -> bool:
        return self.category == "A" and self.element_oid != 0


@dataclass(frozen=True)
class SourceColumn:
    """The table column a result column reads, when it reads one."""

    schema: str
    table: str
    not_null: bool
    auto_increment: bool  # a serial (nextval default) or identity column


class TypeCatalog:
    """pg_type rows by oid, cached per database: a type's oid never changes while the type exists."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, int], PgType] = {}
        self._lock = threading.Lock()

    def lookup(self, connection: psycopg.Connection[Any], database: str, oids: Iterable[int]) -> dict[int, PgType]:
        """The types of `oids` and, for arrays, of their elements."""
        wanted = set(oids)
        found = self._cached(database, wanted)
        missing = wanted - found.keys()
        if missing:
            self._load(connection, database, missing)
            found = self._cached(database, wanted)
        elements = {t.element_oid for t in found.values() if t.is_array} - found.keys()
        if elements:
            found.update(self.lookup(connection, database, elements))
        return found

    def _cached(self, database: str, oids: set[int]) -> dict[int, PgType]:
        with self._lock:
            return {oid: t for oid in oids if (t := self._types.get((database, oid)))}

    def _load(self, connection: psycopg.Connection[Any], database: str, oids: set[int]) -> None:
        rows = connection.execute(
            "SELECT oid::int8, typname::text, typcategory::text, typelem::int8, typdelim::text"
            " FROM pg_catalog.pg_type WHERE oid::int8 = ANY(%s)",
            [sorted(oids)],
        ).fetchall()
        with self._lock:
            for oid, name, category, element_oid, delimiter in rows:
                self._types[(database, oid)] = PgType(oid, name, category, element_oid, delimiter)


def source_columns(
    connection: psycopg.Connection[Any], columns: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], SourceColumn]:
    """The table columns behind (table oid, column number) pairs, as pgjdbc reads them for its metadata."""
    wanted = {(table, number) for table, number in columns if table and number > 0}
    if not wanted:
        return {}
    rows = connection.execute(
        "SELECT c.oid::int8, a.attnum::int8, n.nspname::text, c.relname::text,"
        " a.attnotnull OR (t.typtype = 'd' AND t.typnotnull),"
        " a.attidentity <> '' OR coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%%', false)"
        " FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid"
        " JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
        " LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE c.oid::int8 = ANY(%s) AND a.attnum > 0",
        [sorted({table for table, _ in wanted})],
    ).fetchall()
    return {
        (table, number): SourceColumn(schema, name, bool(not_null), bool(auto_increment))
        for table, number, schema, name, not_null, auto_increment in rows
        if (table, number) in wanted
    }
