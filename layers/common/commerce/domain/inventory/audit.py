"""The stock audit: a SKU's counters must agree with the reservations that hold its units.

On every shard of a SKU, `reserved` must be exactly the units that open (RESERVED) reservations took from
that shard, and `onHand >= reserved >= 0` with `available == onHand - reserved`. A disagreement means a write
was lost or made twice (a bug, a hand edit, a crash inside a non-transactional path): units `reserved` with no
reservation holding them are never sold again (leaked); units held with no `reserved` behind them can be sold
twice (oversold).

The audit runs after the upkeep's release passes (so every expired hold that could be released is), over a
bounded page of SKUs per run (`StockAuditStore.sku_page`, a cursor stored between runs, starting over at the
end), and for each shard:

- counters that contradict themselves (`reserved < 0`, `onHand < reserved`, `available` not their
  difference) are one item's own state, read atomically: counted at once (`countersInvalid`), not repaired
  (which of the three is wrong cannot be told);
- `reserved` different from the units held cannot be concluded from one look: the counters and the
  reservations are read one after the other, and a reservation or a release landing in between (or a new
  reservation not yet visible in the eventually consistent index of held reservations) makes them disagree
  for an instant. Such a shard is remembered (its `reserved`, held units and `reservedWrites`) and the
  mismatch is confirmed only when the next audit of that SKU finds exactly the same figures and the same
  `reservedWrites`. That last one matters: `reservedWrites` is a counter that every write changing
  `reserved` (a reservation, a release, a commit, this audit's repair) increases in the same update, so an
  equal count proves that nothing reserved or released between the two audits. Equal figures alone prove
  nothing in a busy sale: a release and a reservation of the same size net to the same `reserved`, and the
  same race between the two reads can repeat. Confirmed, it is counted (`reservedAboveHeld` /
  `reservedBelowHeld`, the `StockAuditMismatches` metric, which an alarm watches);
- a confirmed `reserved` above the units held (leaked units) is repaired: `reserved` set to the units held
  (and `available` with it) by a write conditional on the shard's counters and `reservedWrites` being exactly
  as read, so a reservation or release landing meanwhile makes it fail and the shard is looked at again next
  time. A confirmed `reserved` below the units held is only counted: repairing it would take units that may
  be sold already; an operator decides (GET /admin/upkeep, the logs name the shard).

A busy SKU (its `reserved` changes between every two audits) is never confirmed while it is busy; the audit
catches up once it is quiet, which is when leaked units matter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Mismatch(StrEnum):
    """Kinds of disagreement, as counted by `StockAuditMismatches` and listed by GET /admin/upkeep."""

    RESERVED_ABOVE_HELD = "reservedAboveHeld"  # units reserved that no open reservation holds (leaked)
    RESERVED_BELOW_HELD = "reservedBelowHeld"  # units held by reservations that `reserved` does not count
    COUNTERS_INVALID = "countersInvalid"  # reserved < 0, onHand < reserved, or available != onHand - reserved


class AuditRepair(StrEnum):
    """The audit's one repair, counted as `ReconciliationRepairs` like the other upkeep repairs."""

    RESERVED_CORRECTED = "stockReservedCorrected"  # a leaked shard's `reserved` set back to the units held


@dataclass(frozen=True)
class ShardCount:
    """One shard item's counters, as read (shard 0 is the SKU item)."""

    sku: str
    shard: int
    on_hand: int
    reserved: int
    available: int
    reserved_writes: int = 0  # writes that changed `reserved` so far (module docstring)

    @property
    def name(self) -> str:
        return f"{self.sku}#{self.shard}"

    @property
    def consistent(self) -> bool:
        return 0 <= self.reserved <= self.on_hand and self.available == self.on_hand - self.reserved


@dataclass(frozen=True)
class Suspect:
    """A shard whose `reserved` disagreed with its held units at the last audit: the figures then seen."""

    reserved: int
    held: int
    reserved_writes: int  # -1 when unknown (a state saved before the count existed): never confirmed


@dataclass(frozen=True)
class AuditState:
    """What one audit leaves for the next: where the next page starts, and the shards awaiting confirmation."""

    cursor: str | None = None
    suspects: Mapping[str, Suspect] = field(default_factory=dict)  # ShardCount.name -> figures


@dataclass(frozen=True)
class SkuPage:
    skus: Sequence[str]
    next_cursor: str | None  # None: this page was the last, the next audit starts over


class StockAuditStore(Protocol):
    def audit_state(self) -> AuditState: ...

    def save_audit_state(self, state: AuditState) -> None: ...

    def sku_page(self, cursor: str | None, limit: int) -> SkuPage:
        """About `limit` SKUs from `cursor` (None: the first ones), in a stable order."""
        ...

    def shard_counts(self, skus: Sequence[str]) -> Sequence[ShardCount]:
        """Every shard item of these SKUs, read strongly consistently."""
        ...

    def held_units(self) -> Mapping[tuple[str, int], int]:
        """Units that open reservations hold, per (sku, shard), summed over every open reservation."""
        ...

    def correct_reserved(self, count: ShardCount, held: int) -> bool:
        """Set the shard's `reserved` to `held` (and `available` to `on_hand - held`) if its counters and
        `reserved_writes` are still exactly `count`, counting the write in `reserved_writes`; whether it did."""
        ...


@dataclass
class AuditReport:
    audited: list[str] = field(default_factory=list)  # the SKUs looked at
    mismatches: dict[Mismatch, list[str]] = field(default_factory=lambda: {kind: [] for kind in Mismatch})
    corrected: list[str] = field(default_factory=list)  # shards repaired (also listed in `mismatches`)
    unconfirmed: list[str] = field(default_factory=list)  # shards that disagreed once, to be looked at again

    @property
    def mismatch_count(self) -> int:
        return sum(len(shards) for shards in self.mismatches.values())


def audit_stock(store: StockAuditStore, *, limit: int) -> AuditReport:
    """Audit the next page of SKUs (see the module docstring); the state for the next audit is saved."""
    state = store.audit_state()
    page = store.sku_page(state.cursor, limit)
    counts = store.shard_counts(page.skus)  # before the reservations (module docstring)
    held = store.held_units()
    report = AuditReport(audited=list(page.skus))
    audited = set(page.skus)
    suspects = {name: suspect for name, suspect in state.suspects.items() if name.rsplit("#", 1)[0] not in audited}
    for count in counts:
        units_held = held.get((count.sku, count.shard), 0)
        if not count.consistent:
            report.mismatches[Mismatch.COUNTERS_INVALID].append(count.name)
            continue
        if count.reserved == units_held:
            continue
        seen = Suspect(count.reserved, units_held, count.reserved_writes)
        if state.suspects.get(count.name) != seen:
            report.unconfirmed.append(count.name)
            suspects[count.name] = seen
            continue
        if count.reserved < units_held:
            report.mismatches[Mismatch.RESERVED_BELOW_HELD].append(count.name)
            suspects[count.name] = seen  # still wrong: counted again by the next audit until an operator acts
            continue
        report.mismatches[Mismatch.RESERVED_ABOVE_HELD].append(count.name)
        # Not corrected when the shard changed meanwhile: it is looked at afresh by the next audit.
        if store.correct_reserved(count, units_held):
            report.corrected.append(count.name)
    store.save_audit_state(AuditState(cursor=page.next_cursor, suspects=suspects))
    return report
