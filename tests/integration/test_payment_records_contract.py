"""One contract, two payment stores: the DynamoDB adapters (on moto) and the in-memory fakes alike.

Payment records (task token kept newest, outcome decided once, refund noted, restock at most once) and the
webhook log (an event id is remembered once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from commerce.adapters.dynamodb.catalog import DynamoDbCatalog
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.payments import DynamoDbClosedIntents, DynamoDbPaymentRecords, DynamoDbWebhookLog
from commerce.domain.catalog.models import ProductSpec, VariantSpec
from commerce.domain.catalog.ports import CatalogRepository
from commerce.domain.catalog.service import create_product
from commerce.domain.clock import utc_now
from commerce.domain.inventory.errors import StockInconsistent
from commerce.domain.inventory.models import ReservationLine
from commerce.domain.inventory.ports import StockLedger
from commerce.domain.inventory.service import get_stock, set_on_hand
from commerce.domain.money import Money
from commerce.domain.payments.closing import ClosedIntents
from commerce.domain.payments.models import PaymentOutcome, Refund
from commerce.domain.payments.ports import PaymentRecords, WebhookLog
from tests.support.fakes.catalog import InMemoryCatalog
from tests.support.fakes.inventory import InMemoryStockLedger
from tests.support.fakes.payments import InMemoryPaymentRecords, InMemoryWebhookLog

pytestmark = pytest.mark.integration


NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
CUP = [ReservationLine("CUP-1", 2)]


@dataclass(frozen=True)
class Stores:
    records: PaymentRecords
    log: WebhookLog
    ledger: StockLedger
    closed: ClosedIntents


def _stocked(catalog: CatalogRepository, ledger: StockLedger) -> None:
    """SKU CUP-1 with 5 units on hand."""
    create_product(
        catalog, ProductSpec("Cup", "", "kitchen", (VariantSpec("CUP-1", "One", Money(900, "EUR")),)), now=NOW
    )
    set_on_hand(ledger, "CUP-1", 5)


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Stores:
    if request.param == "memory":
        memory_ledger = InMemoryStockLedger()
        _stocked(InMemoryCatalog(memory_ledger), memory_ledger)
        records = InMemoryPaymentRecords(memory_ledger)
        return Stores(records, InMemoryWebhookLog(), memory_ledger, records)
    table = request.getfixturevalue("commerce_table")
    ledger = DynamoDbStockLedger(table)
    _stocked(DynamoDbCatalog(table), ledger)
    return Stores(DynamoDbPaymentRecords(table), DynamoDbWebhookLog(table), ledger, DynamoDbClosedIntents(table))


def test_an_unknown_intent_has_no_record(stores: Stores) -> None:
    # Given nothing stored, When an intent is read, Then there is no record
    assert stores.records.get("pi_none") is None


def test_the_newest_task_token_wins_and_the_outcome_is_kept(stores: Stores) -> None:
    # Given a record whose first task token was stored and whose outcome was decided
    stores.records.store_task("pi_1", "chk_1", "ord_1", "token-1")
    stores.records.decide("pi_1", "chk_1", "ord_1", PaymentOutcome.SUCCEEDED)
    # When a retried step stores a second token
    stored = stores.records.store_task("pi_1", "chk_1", "ord_1", "token-2")
    # Then the record holds the new token and still the outcome
    assert (stored.task_token, stored.outcome) == ("token-2", PaymentOutcome.SUCCEEDED)
    assert stores.records.get("pi_1") == stored
    assert (stored.checkout_id, stored.order_id) == ("chk_1", "ord_1")


def test_the_outcome_is_decided_once(stores: Stores) -> None:
    # Given an intent whose outcome was decided DECLINED (creating its record)
    first = stores.records.decide("pi_2", "chk_2", "ord_2", PaymentOutcome.DECLINED)
    assert first.outcome is PaymentOutcome.DECLINED
    # When a later success and a compensation's CLOSED arrive
    later = [
        stores.records.decide("pi_2", "chk_2", "ord_2", o) for o in (PaymentOutcome.SUCCEEDED, PaymentOutcome.CLOSED)
    ]
    # Then each is answered with the first outcome, which is what stays stored
    assert [record.outcome for record in later] == [PaymentOutcome.DECLINED, PaymentOutcome.DECLINED]
    stored = stores.records.get("pi_2")
    assert stored is not None
    assert stored.outcome is PaymentOutcome.DECLINED


def test_a_refund_is_noted_on_the_record(stores: Stores) -> None:
    # Given a decided record, When its refund is noted, Then the record says refunded with the refund's id
    stores.records.decide("pi_3", "chk_3", "ord_3", PaymentOutcome.CLOSED)
    stores.records.record_refund("pi_3", "chk_3", "ord_3", Refund("re_1", "pi_3"))
    stored = stores.records.get("pi_3")
    assert stored is not None
    assert (stored.refunded, stored.refund_id, stored.outcome) == (True, "re_1", PaymentOutcome.CLOSED)


def test_a_restock_happens_at_most_once(stores: Stores) -> None:
    # Given 5 cups on hand
    # When the same intent's lines are restocked twice
    first = stores.records.restock("pi_4", "chk_4", "ord_4", CUP)
    second = stores.records.restock("pi_4", "chk_4", "ord_4", CUP)
    # Then only the first added the units back
    assert (first, second) == (True, False)
    assert get_stock(stores.ledger, "CUP-1").on_hand == 7
    stored = stores.records.get("pi_4")
    assert stored is not None
    assert stored.restocked is True


def test_a_restock_of_a_vanished_sku_changes_nothing(stores: Stores) -> None:
    # Given a line of a SKU that does not exist, When restocked with a real one, Then nothing is restocked
    with pytest.raises(StockInconsistent):
        stores.records.restock("pi_5", "chk_5", "ord_5", [*CUP, ReservationLine("GONE-1", 1)])
    assert get_stock(stores.ledger, "CUP-1").on_hand == 5
    record = stores.records.get("pi_5")
    assert record is None or record.restocked is False


def test_the_webhook_log_remembers_an_event_once(stores: Stores) -> None:
    # Given an event not seen before
    assert stores.log.seen("evt_1") is False
    # When it is remembered (twice, as a redelivery would)
    stores.log.remember("evt_1", "payment_intent.succeeded")
    stores.log.remember("evt_1", "payment_intent.succeeded")
    # Then it is seen, and another event is not
    assert stores.log.seen("evt_1") is True
    assert stores.log.seen("evt_2") is False


def awaiting(stores: Stores) -> list[str]:
    return sorted(stores.closed.closed_before(utc_now() + timedelta(minutes=1), 100))


def test_closing_a_payment_lists_its_intent_until_the_provider_confirmed_it(stores: Stores) -> None:
    # Given an intent decided CLOSED, and one declined then closed (a declined intent can still be paid)
    closed = stores.records.decide("pi_c", "chk_c", "ord_c", PaymentOutcome.CLOSED)
    stores.records.decide("pi_d", "chk_d", "ord_d", PaymentOutcome.DECLINED)
    declined = stores.records.decide("pi_d", "chk_d", "ord_d", PaymentOutcome.CLOSED)
    # Then both await their cancel, the declined one keeping its outcome
    assert (closed.outcome, closed.awaiting_cancel) == (PaymentOutcome.CLOSED, True)
    assert (declined.outcome, declined.awaiting_cancel) == (PaymentOutcome.DECLINED, True)
    assert awaiting(stores) == ["pi_c", "pi_d"]
    # When one is confirmed cancelled and the other refunded, Then neither is listed any more
    stores.records.intent_closed("pi_c")
    stores.records.record_refund("pi_d", "chk_d", "ord_d", Refund("re_d", "pi_d"))
    assert awaiting(stores) == []
    record = stores.records.get("pi_c")
    assert record is not None
    assert (record.outcome, record.awaiting_cancel) == (PaymentOutcome.CLOSED, False)
    # And deciding CLOSED again (a retried compensation) does not list a confirmed one again
    assert not stores.records.decide("pi_c", "chk_c", "ord_c", PaymentOutcome.CLOSED).awaiting_cancel
    assert awaiting(stores) == []


def test_a_paid_payment_is_never_listed_and_only_closed_before_the_moment_asked_for_are(stores: Stores) -> None:
    # Given a payment decided SUCCEEDED that a compensation then tries to close
    stores.records.decide("pi_s", "chk_s", "ord_s", PaymentOutcome.SUCCEEDED)
    assert not stores.records.decide("pi_s", "chk_s", "ord_s", PaymentOutcome.CLOSED).awaiting_cancel
    # And one closed now
    stores.records.decide("pi_n", "chk_n", "ord_n", PaymentOutcome.CLOSED)
    # Then only the closed one is listed, and not before the moment it was closed
    assert awaiting(stores) == ["pi_n"]
    assert stores.closed.closed_before(utc_now() - timedelta(minutes=1), 100) == []
    # And an intent with no record is confirmed closed without creating one
    stores.records.intent_closed("pi_unknown")
    assert stores.records.get("pi_unknown") is None
