"""How a SKU's units are spread over its shards, and which shards a reservation takes them from (pure).

The DynamoDB ledger and the in-memory one both plan with these functions, so they agree on where units go:
- a reshard (or a new on-hand figure) spreads the SKU's available units evenly over its active shards;
  reserved units stay on the shards that hold them, so a reservation can always give them back there;
- a reservation starts at a random active shard and takes what it can, then spills to the next ones in
  order (wrapping around) until the line is served; all lines are then written in one transaction.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from commerce.domain.inventory.models import ShardTake


def spread(available: int, shards: int) -> list[int]:
    """`available` units over `shards` shards as evenly as possible (the first ones get the remainder)."""
    base, extra = divmod(available, shards)
    return [base + (1 if index < extra else 0) for index in range(shards)]


def random_start(shards: int) -> int:
    return random.randrange(shards)


def plan_takes(sku: str, quantity: int, available: Mapping[int, int], start: int) -> list[ShardTake] | None:
    """Takes serving `quantity` from the active shards' `available` units, starting at shard `start` and
    spilling to the following ones; None when all of them together hold too few."""
    if sum(max(units, 0) for units in available.values()) < quantity:
        return None
    order = sorted(available)
    first = order.index(start) if start in available else 0
    takes: list[ShardTake] = []
    remaining = quantity
    for shard in order[first:] + order[:first]:
        units = min(remaining, max(available[shard], 0))
        if units:
            takes.append(ShardTake(sku, shard, units))
            remaining -= units
        if not remaining:
            break
    return takes


def fewest_takes(sku: str, quantity: int, available: Mapping[int, int]) -> list[ShardTake] | None:
    """The same line served from as few shards as possible (largest first): used when a spill from a random
    start would need more items than one transaction may hold."""
    if sum(max(units, 0) for units in available.values()) < quantity:
        return None
    takes: list[ShardTake] = []
    remaining = quantity
    for shard, units in sorted(available.items(), key=lambda pair: (-pair[1], pair[0])):
        units = min(remaining, units)
        if units > 0:
            takes.append(ShardTake(sku, shard, units))
            remaining -= units
        if not remaining:
            break
    return takes
