"""Where a SKU's units go over its shards (commerce.domain.inventory.shards), and the in-memory ledger's
refusal of a reservation that would not fit one transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.domain.catalog.models import ProductSpec, VariantSpec
from commerce.domain.catalog.service import create_product
from commerce.domain.inventory.errors import ReservationTooFragmented
from commerce.domain.inventory.models import ReservationLine, StockSettings
from commerce.domain.inventory.service import get_stock, reserve_stock, set_stock
from commerce.domain.inventory.shards import fewest_takes, plan_takes, spread
from commerce.domain.money import Money
from tests.support.fakes.catalog import InMemoryCatalog
from tests.support.fakes.inventory import InMemoryStockLedger

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)

shard_units = st.dictionaries(st.integers(0, 63), st.integers(0, 20), min_size=1, max_size=64)


@given(available=st.integers(0, 10_000), shards=st.integers(1, 64))
def test_spread_is_even_and_complete(available: int, shards: int) -> None:
    parts = spread(available, shards)
    assert len(parts) == shards
    assert sum(parts) == available
    assert max(parts) - min(parts) <= 1


@given(available=shard_units, quantity=st.integers(1, 200), start=st.integers(0, 63))
def test_a_plan_serves_the_line_exactly_within_each_shard_or_is_none(
    available: dict[int, int], quantity: int, start: int
) -> None:
    for plan in (plan_takes("A-1", quantity, available, start), fewest_takes("A-1", quantity, available)):
        if sum(available.values()) < quantity:
            assert plan is None
            continue
        assert plan is not None
        assert sum(t.quantity for t in plan) == quantity
        assert all(0 < t.quantity <= available[t.shard] for t in plan)
        assert len({t.shard for t in plan}) == len(plan)


def test_a_plan_starts_at_the_random_shard_and_spills_to_the_next_ones() -> None:
    takes = plan_takes("A-1", 5, {0: 2, 1: 2, 2: 2, 3: 2}, start=2)
    assert [(t.shard, t.quantity) for t in takes or []] == [(2, 2), (3, 2), (0, 1)]
    fewest = fewest_takes("A-1", 5, {0: 1, 1: 4, 2: 2})
    assert [(t.shard, t.quantity) for t in fewest or []] == [(1, 4), (2, 1)]


def test_a_reservation_that_needs_more_than_one_transaction_is_refused_and_reserves_nothing() -> None:
    # Given two SKUs with one unit on each of 64 shards
    ledger = InMemoryStockLedger()
    catalog = InMemoryCatalog(ledger)
    create_product(
        catalog,
        ProductSpec("Thin", "", "test", tuple(VariantSpec(s, s, Money(1, "EUR")) for s in ("A-1", "B-1"))),
        now=NOW,
    )
    for sku in ("A-1", "B-1"):
        set_stock(ledger, sku, StockSettings(64, shards=64))
    # When all of both are asked for: 128 shards to take from, plus the reservation item, over 100 items
    with pytest.raises(ReservationTooFragmented):
        reserve_stock(ledger, "r-1", [ReservationLine("A-1", 64), ReservationLine("B-1", 64)], NOW)
    # Then nothing is reserved; one SKU at a time fits
    assert get_stock(ledger, "A-1").reserved == get_stock(ledger, "B-1").reserved == 0
    assert reserve_stock(ledger, "r-2", [ReservationLine("A-1", 64)], NOW).takes
