"""DynamoDB Query and Scan in time proportional to what they read, not to the table: moto walks the whole table.

moto's `Table.query` and `Table.scan` start from `Table.all_items()`, which lists every item of the table and
sorts them all with a `DynamoType` comparison per step; a Query then keeps the items whose key matches, and a
Scan with an `ExclusiveStartKey` walks from the first item to that key, comparing each on the way. Every
Query, and every page of a Scan, cost O(n log n) in the table's size. DynamoDB reads one partition, or resumes
at the key. The edge serialises DynamoDB requests (conditional writes must stay atomic, `localcloud.edge`), so
in a long sale, as sessions, carts, checkouts and reservations piled up, every such call slowed every other
DynamoDB call: the upkeep's queries of the held-reservation index and the TTL sweeper's scan pages (each every
second at `--time-scale 60`) took the whole main process, and the local cloud stopped answering at all (a
500-buyer sale: `/health` unanswered for minutes, ~320 requests waiting for a Lambda worker whose DynamoDB
calls waited behind those queries).

`accelerate_queries()` (idempotent, process-wide) changes only where moto starts, and leaves everything else to
moto, so each answer is moto's own:
- the order of a table's items is kept, not recomputed: the items sorted by key (`_KeyOrder`), built on the
  first call and kept up to date by `put_item` and `delete_item`; `all_items()` answers that list;
- a Query of the table starts from the items of its partition, read from moto's partition map;
- a Query of an index starts from the items whose index partition key equals the condition's value, found in
  one pass over the table that compares raw strings (no `DynamoType` casts, no sort); other key types are
  compared as moto compares them;
- a Scan of the table with an `ExclusiveStartKey` starts at the first item after that key (a binary search).
The candidates reach moto's code through `all_items()` for that call and that thread only; moto then applies
the key conditions, sorts, filters, projects, counts and paginates as it always does.
"""

from __future__ import annotations

import bisect
import inspect
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_lock = threading.Lock()
_installed = False
_candidates = threading.local()  # .items: (table, list of items) while that table's call runs on this thread
_ORDER = "_localcloud_key_order"  # the attribute of a moto Table holding its _KeyOrder
_READS = ("all_items", "query", "scan")  # the reading methods replaced; put_item and delete_item keep the order
_moto: dict[str, Any] = {}  # moto's own reading methods, kept at install


def accelerate_queries() -> None:
    """Replace moto's `Table` query, scan, item listing, put and delete with the candidate-first ones (once)."""
    global _installed
    with _lock:
        if _installed:
            return
        _moto.update({name: getattr(Table, name) for name in _READS})
        query, scan, put_item, delete_item = Table.query, Table.scan, Table.put_item, Table.delete_item
        query_arguments, scan_arguments = inspect.signature(query), inspect.signature(scan)

        def all_items(self: Table) -> list[Any]:
            found = getattr(_candidates, "items", None)
            if found is not None and found[0] is self:
                return list(found[1])
            return list(_order_of(self).ordered)

        def starting_from(self: Table, candidates: list[Any] | None, call: Any, *args: Any, **kwargs: Any) -> Any:
            if candidates is None:
                return call(self, *args, **kwargs)
            _candidates.items = (self, candidates)
            try:
                return call(self, *args, **kwargs)
            finally:
                _candidates.items = None

        def accelerated_query(self: Table, *args: Any, **kwargs: Any) -> Any:
            given = query_arguments.bind(self, *args, **kwargs).arguments
            candidates = _query_candidates(
                self, given.get("hash_key"), given.get("index_name"), given.get("hash_key_conditions")
            )
            return starting_from(self, candidates, query, *args, **kwargs)

        def accelerated_scan(self: Table, *args: Any, **kwargs: Any) -> Any:
            given = scan_arguments.bind(self, *args, **kwargs)
            start = given.arguments.get("exclusive_start_key")
            if given.arguments.get("index_name") or not start:
                return scan(self, *args, **kwargs)
            # The items after the start key, handed to moto with no start key: it skips nothing, counts the same.
            given.arguments["exclusive_start_key"] = None
            candidates = _order_of(self).items_after(self, start)
            return starting_from(self, candidates, scan, *given.args[1:], **given.kwargs)

        def put_and_order(self: Table, *args: Any, **kwargs: Any) -> Any:
            item = put_item(self, *args, **kwargs)
            order = self.__dict__.get(_ORDER)
            if order is not None:
                order.put(item)
            return item

        def delete_and_order(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Any:
            item = delete_item(self, hash_key, range_key)
            order = self.__dict__.get(_ORDER)
            if item is not None and order is not None:
                order.discard(hash_key, range_key)
            return item

        Table.all_items = all_items  # type: ignore[method-assign]
        Table.query = accelerated_query  # type: ignore[method-assign]
        Table.scan = accelerated_scan  # type: ignore[method-assign]
        Table.put_item = put_and_order  # type: ignore[method-assign]
        Table.delete_item = delete_and_order  # type: ignore[method-assign]
        _installed = True


@contextmanager
def moto_own_reads() -> Iterator[None]:
    """moto's own Query, Scan and item listing for the duration, to compare answers and costs with them (the
    tests, bench/dynamodb_queries.py); writes keep each table's key order current meanwhile. Process-wide: not
    for a running local cloud."""
    accelerate_queries()
    accelerated = {name: getattr(Table, name) for name in _READS}
    for name in _READS:
        setattr(Table, name, _moto[name])
    try:
        yield
    finally:
        for name, method in accelerated.items():
            setattr(Table, name, method)


class _KeyOrder:
    """A table's items in `all_items()`'s order: by (hash key, range key), each compared as moto compares it (a
    number as a number, a string as a string). An item put under a key already there takes the old one's place."""

    def __init__(self, table: Table) -> None:
        self.ranged = bool(table.range_key_attr)
        self.sort_keys: list[tuple[Any, ...]] = []
        self.ordered: list[Any] = []  # the items, in the order of sort_keys
        partitions: list[Any] = list(table.items.values())
        for partition in partitions:
            for item in list(partition.values()) if self.ranged else [partition]:
                self.put(item)

    def sort_key(self, hash_key: DynamoType, range_key: DynamoType | None) -> tuple[Any, ...]:
        return (_cast(hash_key), _cast(range_key)) if self.ranged else (_cast(hash_key),)

    def put(self, item: Any) -> None:
        key = self.sort_key(item.hash_key, item.range_key)
        at = bisect.bisect_left(self.sort_keys, key)
        if at < len(self.sort_keys) and self.sort_keys[at] == key:
            self.ordered[at] = item
            return
        self.sort_keys.insert(at, key)
        self.ordered.insert(at, item)

    def discard(self, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        key = self.sort_key(hash_key, range_key)
        at = bisect.bisect_left(self.sort_keys, key)
        if at < len(self.sort_keys) and self.sort_keys[at] == key:
            del self.sort_keys[at], self.ordered[at]

    def items_after(self, table: Table, start_key: dict[str, Any]) -> list[Any]:
        hash_key = DynamoType(start_key[table.hash_key_attr])
        range_key = DynamoType(start_key[table.range_key_attr]) if table.range_key_attr else None
        return self.ordered[bisect.bisect_right(self.sort_keys, self.sort_key(hash_key, range_key)) :]


def _order_of(table: Table) -> _KeyOrder:
    order = table.__dict__.get(_ORDER)
    if order is None:
        order = table.__dict__[_ORDER] = _KeyOrder(table)
    return order


def _cast(key: DynamoType | None) -> Any:
    if key is None:
        return ""
    return Decimal(key.value) if key.type == "N" else key.value


def _query_candidates(
    table: Table,
    hash_key: DynamoType | None,
    index_name: str | None,
    conditions: list[tuple[str, DynamoType]] | None,
) -> list[Any] | None:
    """The items the query can match (moto sorts them as it sorts any); None when moto must look at every item."""
    if index_name:
        if not conditions:
            return None
        partitions: list[Any] = list(table.items.values())
        items = [i for p in partitions for i in p.values()] if table.range_key_attr else partitions
        for name, value in conditions:
            items = _matching(items, name, value)
        return items
    if hash_key is None:
        return None
    partition = table.items.get(hash_key)
    if partition is None:
        return []
    return list(partition.values()) if table.range_key_attr else [partition]  # moto sorts them by range key


def _matching(items: list[Any], name: str, expected: DynamoType) -> list[Any]:
    """The items whose attribute `name` equals `expected` as moto compares them (a missing one never does)."""
    if expected.type in ("S", "B"):  # the common case, compared raw: no DynamoType cast per item
        kind, raw = expected.type, expected.value
        return [
            item
            for item in items
            if (value := item.attrs.get(name)) is not None and value.value == raw and value.type == kind
        ]
    return [item for item in items if (value := item.attrs.get(name)) is not None and value == expected]
