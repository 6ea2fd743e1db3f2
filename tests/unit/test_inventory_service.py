"""Stock operations against the in-memory ledger: set on hand, reserve all-or-nothing, release, commit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commerce.domain.errors import CommerceError, ErrorCode, ValidationFailed
from commerce.domain.inventory.errors import (
    BelowReserved,
    OutOfStock,
    ReservationClosed,
    ReservationMismatch,
    ReservationNotFound,
    SkuNotFound,
)
from commerce.domain.inventory.models import MAX_ON_HAND, MAX_RESERVATION_LINES, ReservationLine, ReservationStatus
from commerce.domain.inventory.service import (
    commit_reservation,
    get_stock,
    release_reservation,
    reserve_stock,
    set_on_hand,
)
from commerce.domain.money import Money
from tests.support.fakes.inventory import InMemoryStockLedger, SkuRecord

EXPIRES = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)


def ledger_with(**on_hand: int) -> InMemoryStockLedger:
    ledger = InMemoryStockLedger()
    for sku, units in on_hand.items():
        name = sku.replace("_", "-")
        ledger.skus[name] = SkuRecord(name, "p" * 32, "Product", "Variant", Money(100, "EUR"), on_hand=units)
    return ledger


def line(sku: str, quantity: int) -> ReservationLine:
    return ReservationLine(sku=sku, quantity=quantity)


def test_set_on_hand_and_read_stock() -> None:
    # Given a SKU with 0 on hand
    ledger = ledger_with(A_1=0)
    # When an operator sets 25
    stock = set_on_hand(ledger, "A-1", 25)
    # Then all three counters agree
    assert stock.to_json() == {
        "sku": "A-1",
        "onHand": 25,
        "reserved": 0,
        "available": 25,
        "shards": 1,
        "purchaseLimit": None,
    }
    assert get_stock(ledger, "A-1") == stock


@pytest.mark.parametrize("sku", ["NOPE-1", "lower", "", "X" * 65])
def test_unknown_or_malformed_skus_are_not_found(sku: str) -> None:
    # Given an empty ledger, When reading or setting a SKU that is not there, Then SKU_NOT_FOUND
    ledger = InMemoryStockLedger()
    with pytest.raises(SkuNotFound) as raised:
        get_stock(ledger, sku)
    assert raised.value.code is ErrorCode.SKU_NOT_FOUND
    with pytest.raises(SkuNotFound):
        set_on_hand(ledger, sku, 1)


@pytest.mark.parametrize("on_hand", [-1, MAX_ON_HAND + 1, True])
def test_on_hand_out_of_range_is_a_validation_error(on_hand: int) -> None:
    # Given a SKU, When on hand is set out of range (or to a bool), Then VALIDATION_ERROR and no change
    ledger = ledger_with(A_1=3)
    with pytest.raises(ValidationFailed):
        set_on_hand(ledger, "A-1", on_hand)
    assert ledger.skus["A-1"].on_hand == 3


def test_on_hand_cannot_go_below_reserved() -> None:
    # Given 10 on hand of which 4 are reserved
    ledger = ledger_with(A_1=10)
    reserve_stock(ledger, "r1", [line("A-1", 4)], EXPIRES)
    # When on hand is set to 3
    with pytest.raises(BelowReserved) as raised:
        set_on_hand(ledger, "A-1", 3)
    # Then BELOW_RESERVED, and 4 is still accepted
    assert raised.value.code is ErrorCode.BELOW_RESERVED
    assert ledger.skus["A-1"].on_hand == 10
    assert set_on_hand(ledger, "A-1", 4).available == 0


def test_reserve_takes_every_line_or_none() -> None:
    # Given A-1 with 5 and B-1 with 1
    ledger = ledger_with(A_1=5, B_1=1)
    # When a reservation asks for 2 A-1, 3 B-1 and an unknown SKU
    with pytest.raises(OutOfStock) as raised:
        reserve_stock(ledger, "r1", [line("A-1", 2), line("B-1", 3), line("C-1", 1)], EXPIRES)
    # Then OUT_OF_STOCK names each short line, and nothing was reserved
    error = raised.value
    assert error.code is ErrorCode.OUT_OF_STOCK
    assert [(p.field, p.code) for p in error.errors] == [
        ("lines[1].quantity", "INSUFFICIENT_STOCK"),
        ("lines[2].sku", "SKU_NOT_FOUND"),
    ]
    assert [(s.sku, s.available) for s in error.shortages] == [("B-1", 1), ("C-1", 0)]
    assert ledger.skus["A-1"].reserved == 0
    assert ledger.reservations == {}


def test_a_retired_sku_cannot_be_reserved() -> None:
    # Given a retired SKU with stock
    ledger = ledger_with(A_1=5)
    ledger.skus["A-1"].retired = True
    # When reserved, Then OUT_OF_STOCK with SKU_NOT_FOUND for that line
    with pytest.raises(OutOfStock) as raised:
        reserve_stock(ledger, "r1", [line("A-1", 1)], EXPIRES)
    assert raised.value.errors[0].code == "SKU_NOT_FOUND"


def test_reserve_is_idempotent_per_id_and_refuses_different_lines() -> None:
    # Given a reservation r1 of 2 A-1
    ledger = ledger_with(A_1=5, B_1=5)
    first = reserve_stock(ledger, "r1", [line("A-1", 2), line("B-1", 1)], EXPIRES)
    # When r1 is reserved again with the same lines (in another order)
    again = reserve_stock(ledger, "r1", [line("B-1", 1), line("A-1", 2)], EXPIRES)
    # Then it is the same reservation and nothing more is reserved
    assert again == first
    assert ledger.skus["A-1"].reserved == 2
    # And r1 with different lines is refused
    with pytest.raises(ReservationMismatch):
        reserve_stock(ledger, "r1", [line("A-1", 3)], EXPIRES)


def test_release_gives_units_back_exactly_once() -> None:
    # Given 3 of 5 reserved
    ledger = ledger_with(A_1=5)
    reserve_stock(ledger, "r1", [line("A-1", 3)], EXPIRES)
    # When released twice
    first = release_reservation(ledger, "r1")
    second = release_reservation(ledger, "r1")
    # Then the units came back once
    assert first.status is second.status is ReservationStatus.RELEASED
    assert get_stock(ledger, "A-1").to_json() == {
        "sku": "A-1",
        "onHand": 5,
        "reserved": 0,
        "available": 5,
        "shards": 1,
        "purchaseLimit": None,
    }
    # And a released reservation cannot be committed
    with pytest.raises(ReservationClosed):
        commit_reservation(ledger, "r1")


def test_commit_takes_units_out_of_on_hand_exactly_once() -> None:
    # Given 3 of 5 reserved
    ledger = ledger_with(A_1=5)
    reserve_stock(ledger, "r1", [line("A-1", 3)], EXPIRES)
    # When committed twice
    commit_reservation(ledger, "r1")
    committed = commit_reservation(ledger, "r1")
    # Then on hand and reserved dropped once and available is unchanged
    assert committed.status is ReservationStatus.COMMITTED
    assert get_stock(ledger, "A-1").to_json() == {
        "sku": "A-1",
        "onHand": 2,
        "reserved": 0,
        "available": 2,
        "shards": 1,
        "purchaseLimit": None,
    }
    # And a committed reservation cannot be released
    with pytest.raises(ReservationClosed) as raised:
        release_reservation(ledger, "r1")
    assert raised.value.code is ErrorCode.CONFLICT


def test_unknown_reservations_are_not_found() -> None:
    # Given an empty ledger, When releasing or committing an unknown or malformed id, Then NOT_FOUND
    ledger = InMemoryStockLedger()
    for reservation_id in ("nope", "bad id!"):
        with pytest.raises(ReservationNotFound):
            release_reservation(ledger, reservation_id)
        with pytest.raises(ReservationNotFound):
            commit_reservation(ledger, reservation_id)


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ([line("A-1", 1), line("A-1", 2)], "lines[1].sku"),
        ([line("A-1", 0)], "lines[0].quantity"),
        ([line("a-1", 1)], "lines[0].sku"),
        ([line(f"S-{i}", 1) for i in range(MAX_RESERVATION_LINES + 1)], "lines"),
    ],
)
def test_malformed_reservations_are_refused_before_touching_stock(lines: list[ReservationLine], field: str) -> None:
    # Given stock, When a malformed reservation is asked for, Then VALIDATION_ERROR naming the field, nothing reserved
    ledger = ledger_with(A_1=5)
    with pytest.raises(ValidationFailed) as raised:
        reserve_stock(ledger, "r1", lines, EXPIRES)
    assert field in {p.field for p in raised.value.errors}
    assert ledger.reservations == {}


def test_reservation_ids_and_expiry_are_checked() -> None:
    # Given stock, When the id is malformed or the expiry is naive, Then the reservation is refused
    ledger = ledger_with(A_1=5)
    with pytest.raises(ValidationFailed):
        reserve_stock(ledger, "bad id", [line("A-1", 1)], EXPIRES)
    with pytest.raises(ValueError, match="timezone"):
        reserve_stock(ledger, "r1", [line("A-1", 1)], datetime(2026, 1, 1))


def test_fifty_threads_racing_for_ten_units_get_exactly_ten() -> None:
    # Given 10 units
    ledger = ledger_with(HOT_1=10)

    def attempt(i: int) -> bool:
        try:
            reserve_stock(ledger, f"r{i}", [line("HOT-1", 1)], EXPIRES)
        except OutOfStock:
            return False
        return True

    # When 50 threads each reserve one
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(attempt, range(50)))
    # Then exactly 10 succeed and nothing is left
    assert sum(results) == 10
    assert get_stock(ledger, "HOT-1").to_json() == {
        "sku": "HOT-1",
        "onHand": 10,
        "reserved": 10,
        "available": 0,
        "shards": 1,
        "purchaseLimit": None,
    }


operations = st.lists(
    st.tuples(
        st.sampled_from(["reserve", "release", "commit", "set"]),
        st.integers(min_value=0, max_value=5),  # reservation number or on-hand value seed
        st.integers(min_value=1, max_value=4),  # quantity
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_counters_stay_consistent_under_any_sequence(ops: list[tuple[str, int, int]]) -> None:
    # Given two SKUs with some stock
    ledger = ledger_with(A_1=6, B_1=3)
    expires = EXPIRES + timedelta(minutes=1)
    # When any sequence of reserves, releases, commits and on-hand changes runs (refusals allowed)
    for op, n, quantity in ops:
        try:
            if op == "reserve":
                reserve_stock(ledger, f"r{n}", [line("A-1", quantity), line("B-1", 1)], expires)
            elif op == "release":
                release_reservation(ledger, f"r{n}")
            elif op == "commit":
                commit_reservation(ledger, f"r{n}")
            else:
                set_on_hand(ledger, "A-1", n * quantity)
        except CommerceError:
            pass
        # Then no counter is negative and reserved equals what open reservations hold
        for sku in ("A-1", "B-1"):
            stock = get_stock(ledger, sku)
            assert stock.on_hand >= 0
            assert stock.reserved >= 0
            assert stock.available >= 0
            held = sum(
                ln.quantity
                for r in ledger.reservations.values()
                if r.status is ReservationStatus.RESERVED
                for ln in r.lines
                if ln.sku == sku
            )
            assert stock.reserved == held
