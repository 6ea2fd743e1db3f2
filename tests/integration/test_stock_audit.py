"""The stock audit against moto, run by the upkeep function as Lambda runs it: a shard whose `reserved` was
corrupted is found, confirmed by the next run, corrected (without touching the units real reservations hold)
and listed by GET /admin/upkeep; units held beyond `reserved` are counted run after run, never "repaired"."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from commerce.adapters.dynamodb.catalog import DynamoDbCatalog
from commerce.adapters.dynamodb.client import to_attrs
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.keys import sku_shard_key
from commerce.adapters.dynamodb.stock_audit import DynamoDbStockAudit
from commerce.adapters.dynamodb.upkeep_runs import DynamoDbUpkeepRuns
from commerce.domain.catalog.models import ProductSpec, VariantSpec
from commerce.domain.catalog.service import create_product
from commerce.domain.inventory.audit import Mismatch, audit_stock
from commerce.domain.inventory.models import ReservationLine, StockSettings
from commerce.domain.money import Money
from commerce.domain.orders.models import order_clock
from tests.support.carts import configure
from tests.support.handlers import load_handler
from tests.support.lambda_events import FakeLambdaContext, load_event

pytestmark = pytest.mark.integration

DEFINITION = {"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture
def upkeep(commerce_table: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    state_machine = boto3.client("stepfunctions").create_state_machine(
        name="checkout-test", definition=json.dumps(DEFINITION), roleArn="arn:aws:iam::123456789012:role/checkout"
    )["stateMachineArn"]
    configure(monkeypatch, CHECKOUT_STATE_MACHINE_ARN=state_machine, RESERVATION_UPKEEP_MAX_PER_RUN="16")
    load_handler("release_expired_reservations", fresh=True)
    return sys.modules["functions.release_expired_reservations.app"]


def run(app: Any) -> dict[str, int]:
    return dict(app.lambda_handler(load_event("release_expired_reservations"), FakeLambdaContext()))


def stocked(table: str, *skus: str, on_hand: int = 40, shards: int = 4) -> DynamoDbStockLedger:
    variants = tuple(VariantSpec(sku, sku, Money(1200, "EUR")) for sku in skus)
    create_product(DynamoDbCatalog(table), ProductSpec("Cup", "", "kitchen", variants), now=NOW)
    ledger = DynamoDbStockLedger(table)
    for sku in skus:
        ledger.set_stock(sku, StockSettings(on_hand, shards=shards))
    return ledger


def add_reserved(table: str, sku: str, shard: int, units: int) -> None:
    """A lost write: `reserved` raised with no reservation behind it (and `available` kept consistent)."""
    boto3.client("dynamodb").update_item(
        TableName=table,
        Key=to_attrs(sku_shard_key(sku, shard)),
        UpdateExpression="SET reserved = reserved + :u, available = available - :u",
        ExpressionAttributeValues=to_attrs({":u": units}),
    )


def test_a_corrupted_reserved_is_found_confirmed_corrected_and_listed(upkeep: Any, commerce_table: str) -> None:
    # Given a SKU over four shards with an open reservation, and 5 units reserved on shard 2 that nobody holds
    ledger = stocked(commerce_table, "CUP-1")
    ledger.reserve("r-open", [ReservationLine("CUP-1", 3)], order_clock() + timedelta(minutes=15))
    add_reserved(commerce_table, "CUP-1", 2, 5)
    # When the upkeep runs once, Then the shard is suspected only: nothing counted, nothing changed
    first = run(upkeep)
    assert (first["skusAudited"], first["stockMismatches"], first["stockCorrected"]) == (1, 0, 0)
    assert ledger.get("CUP-1").reserved == 8  # type: ignore[union-attr]
    # When it runs again with the same figures, Then the mismatch is confirmed and corrected to the held units
    second = run(upkeep)
    assert (second["stockMismatches"], second["stockCorrected"]) == (1, 1)
    stock = ledger.get("CUP-1")
    assert stock is not None
    assert (stock.on_hand, stock.reserved, stock.available) == (40, 3, 37)
    # And the open reservation still releases cleanly (its units were not touched)
    ledger.release("r-open")
    assert ledger.get("CUP-1").reserved == 0  # type: ignore[union-attr]
    # And GET /admin/upkeep's runs list it: the mismatch by kind and the repair
    (job,) = DynamoDbUpkeepRuns(commerce_table).recent(runs_per_job=3)
    assert [r.mismatches[Mismatch.RESERVED_ABOVE_HELD.value] for r in job.runs] == [1, 0]
    assert [r.repaired["stockReservedCorrected"] for r in job.runs] == [1, 0]
    # And a third run finds nothing
    third = run(upkeep)
    assert (third["stockMismatches"], third["stockCorrected"]) == (0, 0)


def test_units_held_beyond_reserved_are_counted_and_left_alone(upkeep: Any, commerce_table: str) -> None:
    # Given an unsharded SKU whose reservation holds 4 units while `reserved` says 1
    ledger = stocked(commerce_table, "MUG-1", on_hand=10, shards=1)
    ledger.reserve("r-open", [ReservationLine("MUG-1", 4)], order_clock() + timedelta(minutes=15))
    add_reserved(commerce_table, "MUG-1", 0, -3)
    # When the upkeep runs three times, Then from the second on the mismatch is counted, and nothing changes
    counts = [run(upkeep)["stockMismatches"] for _ in range(3)]
    assert counts == [0, 1, 1]
    assert ledger.get("MUG-1").reserved == 1  # type: ignore[union-attr]
    (job,) = DynamoDbUpkeepRuns(commerce_table).recent(runs_per_job=1)
    assert job.runs[0].mismatches[Mismatch.RESERVED_BELOW_HELD.value] == 1
    assert job.runs[0].repaired["stockReservedCorrected"] == 0


def test_a_correction_loses_to_a_reservation_made_after_the_audit_read(commerce_table: str) -> None:
    # Given a confirmed leak of 2 units on a one-shard SKU
    ledger = stocked(commerce_table, "PLATE-1", on_hand=10, shards=1)
    add_reserved(commerce_table, "PLATE-1", 0, 2)
    store = DynamoDbStockAudit(commerce_table)
    audit_stock(store, limit=10)

    class Raced(DynamoDbStockAudit):
        def correct_reserved(self, count: Any, held: int) -> bool:
            ledger.reserve("r-new", [ReservationLine("PLATE-1", 3)], order_clock() + timedelta(minutes=15))
            return super().correct_reserved(count, held)

    # When a buyer reserves between the audit's read and its correction
    report = audit_stock(Raced(commerce_table), limit=10)
    # Then the correction is refused by its condition and the buyer's units stay reserved
    assert report.mismatches[Mismatch.RESERVED_ABOVE_HELD] == ["PLATE-1#0"]
    assert report.corrected == []
    assert ledger.get("PLATE-1").reserved == 5  # type: ignore[union-attr]


def test_equal_figures_from_a_busy_shard_are_not_confirmed_and_a_quiet_leak_still_is(commerce_table: str) -> None:
    # Given a one-shard SKU whose every audit is raced: a release lands between its two reads
    ledger = stocked(commerce_table, "BOWL-1", on_hand=10, shards=1)
    ledger.reserve("r0", [ReservationLine("BOWL-1", 1)], order_clock() + timedelta(minutes=15))
    releases = iter(["r0", "r1"])

    class Busy(DynamoDbStockAudit):
        def held_units(self) -> dict[tuple[str, int], int]:
            ledger.release(next(releases))
            return super().held_units()

    busy = Busy(commerce_table)
    assert audit_stock(busy, limit=10).unconfirmed == ["BOWL-1#0"]
    ledger.reserve("r1", [ReservationLine("BOWL-1", 1)], order_clock() + timedelta(minutes=15))
    # When the next audit sees the same figures (reserved 1, held 0) after a reservation and a release
    second = audit_stock(busy, limit=10)
    # Then nothing is confirmed: reservedWrites moved in between
    assert (second.mismatch_count, second.corrected, second.unconfirmed) == (0, [], ["BOWL-1#0"])
    assert ledger.get("BOWL-1").reserved == 0  # type: ignore[union-attr]
    # And a leak on that shard (reservedWrites already counting) is confirmed and corrected once quiet
    add_reserved(commerce_table, "BOWL-1", 0, 2)
    store = DynamoDbStockAudit(commerce_table)
    assert audit_stock(store, limit=10).unconfirmed == ["BOWL-1#0"]
    assert audit_stock(store, limit=10).corrected == ["BOWL-1#0"]
    stock = ledger.get("BOWL-1")
    assert stock is not None
    assert (stock.on_hand, stock.reserved, stock.available) == (10, 0, 10)


def test_the_audit_pages_through_the_catalog_and_starts_over(commerce_table: str) -> None:
    # Given three products
    for name in ("A-1", "B-1", "C-1"):
        variants = (VariantSpec(name, name, Money(100, "EUR")),)
        create_product(DynamoDbCatalog(commerce_table), ProductSpec(name, "", "kitchen", variants), now=NOW)
    store = DynamoDbStockAudit(commerce_table)
    # When audits take one page of two products each, Then they go through all and start over
    assert [sorted(audit_stock(store, limit=2).audited) for _ in range(3)] == [["A-1", "B-1"], ["C-1"], ["A-1", "B-1"]]
