"""DynamoDB Query in time proportional to what it reads, not to the table: moto's Query walks the whole table.

moto's `Table.query` starts from `Table.all_items()`, which lists every item of the table and sorts them all,
then keeps those whose key matches: every Query, of the table or of an index, costs O(n log n) in the table's
size, with a `DynamoType` comparison per item. DynamoDB reads one partition. The edge serialises DynamoDB
requests (conditional writes must stay atomic, `localcloud.edge`), so in a long sale, as sessions, carts,
checkouts and reservations pile up, every Query slowed every other DynamoDB call: the upkeep's queries of the
held-reservation index (every second at `--time-scale 60`) took the whole main process, and the local cloud
stopped answering at all (a 500-buyer sale: `/health` unanswered for minutes, ~320 requests waiting for a
Lambda worker whose DynamoDB calls waited behind those queries).

`accelerate_queries()` (idempotent, process-wide) gives `Table.query` only the candidates to start from, and
leaves everything else to moto, so the answer is moto's own:
- a query of the table: the items of its partition, read from moto's partition map;
- a query of an index: the items whose index partition key equals the condition's value, found in one pass
  over the table that compares the raw strings (no sort, no `DynamoType` casts); key values of other types
  (numbers, binary) are compared as moto compares them.
The candidates reach moto's code through `all_items()` for that call and that thread only; moto then applies
the key conditions, sorts, filters, projects and paginates as it always does.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_lock = threading.Lock()
_installed = False
_candidates = threading.local()  # .items: (table, list of items) while that table's query runs on this thread


def accelerate_queries() -> None:
    """Replace moto's `Table.query` and `Table.all_items` with the candidate-first versions (once)."""
    global _installed
    with _lock:
        if _installed:
            return
        query, all_items = Table.query, Table.all_items

        def all_items_or_candidates(self: Table) -> Any:
            found = getattr(_candidates, "items", None)
            if found is not None and found[0] is self:
                return found[1]
            return all_items(self)

        signature = inspect.signature(query)

        def query_from_candidates(self: Table, *args: Any, **kwargs: Any) -> Any:
            given = signature.bind(self, *args, **kwargs).arguments
            candidates = _candidates_of(
                self, given.get("hash_key"), given.get("index_name"), given.get("hash_key_conditions")
            )
            if candidates is None:
                return query(self, *args, **kwargs)
            _candidates.items = (self, candidates)
            try:
                return query(self, *args, **kwargs)
            finally:
                _candidates.items = None

        Table.all_items = all_items_or_candidates  # type: ignore[method-assign]
        Table.query = query_from_candidates  # type: ignore[method-assign]
        _installed = True


def _candidates_of(
    table: Table,
    hash_key: DynamoType | None,
    index_name: str | None,
    conditions: list[tuple[str, DynamoType]] | None,
) -> list[Any] | None:
    """The items the query can match, in `all_items()`'s order; None when moto must look at every item."""
    if index_name:
        if not conditions:
            return None
        items = _every_item(table)
        for name, value in conditions:
            items = _matching(items, name, value)
    else:
        if hash_key is None:
            return None
        partition = table.items.get(hash_key)
        if partition is None:
            return []
        items = list(partition.values()) if table.range_key_attr else [partition]
    return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _every_item(table: Table) -> list[Any]:
    if table.range_key_attr:
        return [item for partition in table.items.values() for item in partition.values()]
    return list(table.items.values())


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
