"""The stock audit with in-memory fakes: a shard's `reserved` must equal the units its open reservations hold.
A disagreement is confirmed by a second audit that sees the same figures and no write to `reserved` in
between, then repaired when units leaked
(`reserved` above the holds) and only counted otherwise; a shard that changes in between is not touched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from commerce.domain.inventory.audit import Mismatch, ShardCount, audit_stock
from commerce.domain.inventory.models import ReservationLine, StockSettings
from commerce.domain.money import Money
from tests.support.fakes.inventory import InMemoryStockAudit, InMemoryStockLedger, SkuRecord

EXPIRES = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)


def ledger_with(*skus: str, on_hand: int = 40, shards: int = 4) -> InMemoryStockLedger:
    ledger = InMemoryStockLedger()
    for sku in skus:
        ledger.skus[sku] = SkuRecord(sku, "p1", "Cup", sku, Money(1200, "EUR"))
        ledger.set_stock(sku, StockSettings(on_hand, shards=shards))
    return ledger


def test_counters_that_agree_with_their_reservations_are_no_mismatch() -> None:
    ledger = ledger_with("CUP-1")
    ledger.reserve("r1", [ReservationLine("CUP-1", 3)], EXPIRES)
    ledger.reserve("r2", [ReservationLine("CUP-1", 12)], EXPIRES)  # spills over shards
    audit = InMemoryStockAudit(ledger)

    for _ in range(2):
        report = audit_stock(audit, limit=10)
        assert report.audited == ["CUP-1"]
        assert report.mismatch_count == 0
        assert report.unconfirmed == []


def test_leaked_reserved_units_are_confirmed_by_a_second_audit_then_corrected_once() -> None:
    ledger = ledger_with("CUP-1")
    ledger.reserve("r1", [ReservationLine("CUP-1", 2)], EXPIRES)
    ledger.skus["CUP-1"].others[2].reserved += 5  # units reserved that no reservation holds
    audit = InMemoryStockAudit(ledger)

    first = audit_stock(audit, limit=10)
    assert first.unconfirmed == ["CUP-1#2"]
    assert first.mismatch_count == 0
    assert ledger.skus["CUP-1"].others[2].reserved >= 5  # nothing changed on one look

    second = audit_stock(audit, limit=10)
    assert second.mismatches[Mismatch.RESERVED_ABOVE_HELD] == ["CUP-1#2"]
    assert second.corrected == ["CUP-1#2"]
    assert ledger.get("CUP-1").reserved == 2  # type: ignore[union-attr]
    assert ledger.get("CUP-1").available == 38  # type: ignore[union-attr]

    third = audit_stock(audit, limit=10)
    assert third.mismatch_count == 0
    assert third.unconfirmed == []
    assert third.corrected == []


def test_a_shard_that_changes_between_two_audits_is_not_confirmed_and_not_touched() -> None:
    ledger = ledger_with("CUP-1", shards=1)
    ledger.skus["CUP-1"].reserved += 4
    audit = InMemoryStockAudit(ledger)
    assert audit_stock(audit, limit=10).unconfirmed == ["CUP-1#0"]

    ledger.reserve("r1", [ReservationLine("CUP-1", 1)], EXPIRES)  # a buyer between the two audits
    second = audit_stock(audit, limit=10)
    assert second.mismatch_count == 0
    assert second.unconfirmed == ["CUP-1#0"]
    assert ledger.skus["CUP-1"].reserved == 5

    third = audit_stock(audit, limit=10)  # quiet now: confirmed, corrected down to the one held unit
    assert third.corrected == ["CUP-1#0"]
    assert ledger.skus["CUP-1"].reserved == 1


def test_a_correction_raced_by_a_reservation_does_not_lose_it() -> None:
    ledger = ledger_with("CUP-1", shards=1)
    ledger.skus["CUP-1"].reserved += 4
    audit = InMemoryStockAudit(ledger)
    audit_stock(audit, limit=10)

    class RacedAudit(InMemoryStockAudit):
        def correct_reserved(self, count: ShardCount, held: int) -> bool:
            ledger.reserve("r1", [ReservationLine("CUP-1", 3)], EXPIRES)  # lands between the read and the write
            return super().correct_reserved(count, held)

    raced = RacedAudit(ledger)
    raced.state = audit.state
    report = audit_stock(raced, limit=10)
    assert report.mismatches[Mismatch.RESERVED_ABOVE_HELD] == ["CUP-1#0"]
    assert report.corrected == []
    assert ledger.skus["CUP-1"].reserved == 7  # the leak and the new reservation: nothing lost


def test_a_busy_shard_whose_figures_repeat_across_two_audits_is_neither_confirmed_nor_corrected() -> None:
    # Each audit reads the counters, then a release lands before it reads the holds: (reserved 1, held 0)
    # both times, with a reservation in between. Equal figures; the writes to `reserved` tell them apart.
    ledger = ledger_with("CUP-1", shards=1)
    ledger.reserve("r0", [ReservationLine("CUP-1", 1)], EXPIRES)
    releases = iter(["r0", "r1"])

    class BusyAudit(InMemoryStockAudit):
        def held_units(self) -> dict[tuple[str, int], int]:
            ledger.release(next(releases))  # lands between the two reads
            return super().held_units()

        def correct_reserved(self, count: ShardCount, held: int) -> bool:
            ledger.reserve("r2", [ReservationLine("CUP-1", 1)], EXPIRES)  # a buyer just before the repair
            return super().correct_reserved(count, held)

    audit = BusyAudit(ledger)
    assert audit_stock(audit, limit=10).unconfirmed == ["CUP-1#0"]
    ledger.reserve("r1", [ReservationLine("CUP-1", 1)], EXPIRES)  # reserved back to 1 before the next audit

    second = audit_stock(audit, limit=10)
    assert second.mismatch_count == 0
    assert second.corrected == []
    assert second.unconfirmed == ["CUP-1#0"]
    assert ledger.skus["CUP-1"].reserved == 0  # the ledger's own figure, untouched by the audit


def test_units_held_beyond_reserved_are_counted_every_audit_and_never_repaired() -> None:
    ledger = ledger_with("CUP-1", shards=1)
    ledger.reserve("r1", [ReservationLine("CUP-1", 3)], EXPIRES)
    ledger.skus["CUP-1"].reserved = 1
    audit = InMemoryStockAudit(ledger)
    audit_stock(audit, limit=10)

    for _ in range(2):
        report = audit_stock(audit, limit=10)
        assert report.mismatches[Mismatch.RESERVED_BELOW_HELD] == ["CUP-1#0"]
        assert report.corrected == []
    assert ledger.skus["CUP-1"].reserved == 1


def test_self_contradicting_counters_are_counted_at_once() -> None:
    ledger = ledger_with("CUP-1", shards=2)
    ledger.skus["CUP-1"].others[1].reserved = -1
    report = audit_stock(InMemoryStockAudit(ledger), limit=10)
    assert report.mismatches[Mismatch.COUNTERS_INVALID] == ["CUP-1#1"]


def test_each_audit_takes_one_page_of_skus_and_starts_over_after_the_last() -> None:
    ledger = ledger_with("A-1", "B-1", "C-1", shards=1)
    ledger.skus["C-1"].reserved += 1
    audit = InMemoryStockAudit(ledger)

    pages = [audit_stock(audit, limit=2).audited for _ in range(4)]
    assert pages == [["A-1", "B-1"], ["C-1"], ["A-1", "B-1"], ["C-1"]]
    assert ledger.skus["C-1"].reserved == 0  # confirmed by the second look at its page, a cycle later


def test_a_release_of_an_expired_hold_before_the_audit_leaves_nothing_to_find() -> None:
    ledger = ledger_with("CUP-1")
    ledger.reserve("r1", [ReservationLine("CUP-1", 6)], EXPIRES - timedelta(hours=1))
    ledger.release("r1")
    audit = InMemoryStockAudit(ledger)
    assert audit_stock(audit, limit=10).unconfirmed == []
    assert audit_stock(audit, limit=10).mismatch_count == 0
