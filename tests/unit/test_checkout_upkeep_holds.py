"""The upkeep's second pass with in-memory fakes: reservations held past their expiry with no checkout record
(CreateCheckout died between reserving and recording) or with a final checkout (a release that failed or
never ran) are released, once, to the shards their units came from; everything else is left alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from commerce.domain.carts.models import PricedCart, PricedLine
from commerce.domain.checkout.errors import AttemptAbandoned
from commerce.domain.checkout.models import Checkout, CheckoutStatus, checkout_id_for
from commerce.domain.checkout.service import AdmissionPolicy, CheckoutDesk, CheckoutDetails, owner_key
from commerce.domain.checkout.upkeep import Repair, release_expired_holds, release_expired_reservations
from commerce.domain.inventory.models import Reservation, ReservationLine, ReservationStatus, Stock, StockSettings
from commerce.domain.inventory.service import commit_reservation, reserve_stock
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderLine, OrderOwner, ShippingAddress
from commerce.domain.sessions.models import Credentials
from commerce.domain.sessions.tokens import issue_token
from tests.support.fakes.checkout import InMemoryCheckoutQueue, InMemoryCheckouts, InMemoryWorkflow
from tests.support.fakes.inventory import InMemoryStockLedger, SkuRecord

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
TTL = timedelta(minutes=15)
ADDRESS = ShippingAddress(name="Ada Lovelace", line1="12 Analytical St", city="London", postal_code="N1", country="GB")
DETAILS = CheckoutDetails(email="ada@example.com", shipping_address=ADDRESS)
SKU = "CUP-1"


class Killed(BaseException):
    """The function's process dying (timeout, out of memory): no `except Exception` cleanup runs."""


class DiesBeforeRecording(InMemoryCheckouts):
    def create(self, checkout: Checkout, *, replacing: str | None = None) -> Checkout:
        raise Killed()


class Cart:
    def view(self, credentials: Credentials) -> PricedCart:
        line = PricedLine(sku=SKU, product_id="p1", name="Cup (White)", quantity=5, unit_price=Money(1200, "EUR"))
        return PricedCart(cart_id="cart-1", currency="EUR", lines=(line,), updated_at=NOW)


def sharded_ledger(on_hand: int = 40, shards: int = 4) -> InMemoryStockLedger:
    ledger = InMemoryStockLedger()
    ledger.skus[SKU] = SkuRecord(SKU, "p1", "Cup", "White", Money(1200, "EUR"))
    ledger.set_stock(SKU, StockSettings(on_hand, shards=shards))
    return ledger


def shard_reserved(ledger: InMemoryStockLedger) -> dict[int, int]:
    record = ledger.skus[SKU]
    return {0: record.reserved} | {index: shard.reserved for index, shard in record.others.items()}


def desk(checkouts: InMemoryCheckouts, ledger: InMemoryStockLedger, now: datetime) -> CheckoutDesk:
    policy = AdmissionPolicy(reservation_ttl=TTL, max_queue_depth=100, busy_retry_after_seconds=5)
    return CheckoutDesk(checkouts, ledger, Cart(), InMemoryCheckoutQueue(), policy, clock=lambda: now)


def checkout_of(checkout_id: str, owner: OrderOwner, status: CheckoutStatus, expires_at: datetime) -> Checkout:
    return Checkout(
        checkout_id=checkout_id,
        order_id="3f6c2a9e-7b1d-4c5e-9a8f-1e2d3c4b5a69",
        owner=owner,
        status=status,
        email="ada@example.com",
        shipping_address=ADDRESS,
        lines=(OrderLine(SKU, "p1", "Cup (White)", 2, Money(1200, "EUR")),),
        total=Money(2400, "EUR"),
        reservation_expires_at=expires_at,
        created_at=expires_at - TTL,
        updated_at=expires_at - TTL,
    )


def test_a_reservation_left_by_a_create_that_died_before_recording_is_released_once_to_its_shards() -> None:
    # Given a sharded SKU and a CreateCheckout killed between its reservation and its record
    ledger, checkouts = sharded_ledger(), InMemoryCheckouts()
    token = issue_token()
    owner = OrderOwner(session_id=token.session_id)
    with pytest.raises(Killed):
        desk(DiesBeforeRecording(), ledger, NOW).place(Credentials(token), owner, "key-1", DETAILS)
    checkout_id = checkout_id_for(owner_key(owner), "key-1")
    held = ledger.get_reservation(checkout_id)
    assert held is not None
    assert held.status is ReservationStatus.RESERVED
    assert checkouts.get(checkout_id) is None
    assert sum(shard_reserved(ledger).values()) == 5
    # When the upkeep runs before the reservation expired, Then it leaves it alone
    early = release_expired_holds(ledger, checkouts, ledger, now=NOW + TTL - timedelta(seconds=1), limit=10)
    assert early.examined == 0
    # When it runs after the expiry, Then the reservation is released, every shard back to 0 reserved
    report = release_expired_holds(ledger, checkouts, ledger, now=NOW + TTL + timedelta(minutes=5), limit=10)
    assert report.repaired == {Repair.ORPHANED: [checkout_id], Repair.OF_FINAL_CHECKOUT: []}
    released = ledger.get_reservation(checkout_id)
    assert released is not None
    assert released.status is ReservationStatus.RELEASED
    assert set(shard_reserved(ledger).values()) == {0}
    stock = ledger.get(SKU)
    assert stock is not None
    assert (stock.on_hand, stock.reserved, stock.available) == (40, 0, 40)
    # And a second run, or the client's late retry of the request, changes nothing more
    again = release_expired_holds(ledger, checkouts, ledger, now=NOW + TTL + timedelta(minutes=10), limit=10)
    assert again.examined == 0
    with pytest.raises(AttemptAbandoned):
        desk(checkouts, ledger, NOW + TTL + timedelta(minutes=11)).place(Credentials(token), owner, "key-1", DETAILS)
    assert ledger.get(SKU) == stock


class ReleaseFails(InMemoryStockLedger):
    """A ledger whose releases fail (throttled, say) while `failing` is set."""

    failing = True

    def release(self, reservation_id: str) -> Reservation:
        if self.failing:
            raise RuntimeError("throttled")
        return super().release(reservation_id)


def test_a_release_that_failed_after_the_checkout_expired_is_retried_by_a_later_run() -> None:
    # Given a never-processed QUEUED checkout whose reservation expired, and releases that fail for now
    ledger = ReleaseFails()
    ledger.skus[SKU] = SkuRecord(SKU, "p1", "Cup", "White", Money(1200, "EUR"), on_hand=10)
    checkouts, workflow = InMemoryCheckouts(), InMemoryWorkflow()
    checkout_id = checkout_id_for("SESSION#s-1", "k")
    reserve_stock(ledger, checkout_id, [ReservationLine(SKU, 2)], NOW - timedelta(minutes=1))
    checkouts.create(
        checkout_of(checkout_id, OrderOwner(session_id="s-1"), CheckoutStatus.QUEUED, NOW - timedelta(minutes=1))
    )
    # When the first pass expires it but its release fails, and so does the second pass's
    first = release_expired_reservations(checkouts, checkouts, ledger, workflow, now=NOW, limit=10)
    assert [failed for failed, _ in first.failed] == [checkout_id]
    expired = checkouts.get(checkout_id)
    assert expired is not None
    assert expired.status is CheckoutStatus.EXPIRED
    holds = release_expired_holds(ledger, checkouts, ledger, now=NOW, limit=10)
    assert [failed for failed, _ in holds.failed] == [checkout_id]
    assert ledger.skus[SKU].reserved == 2
    # Then a later run, once releases work again, gives the units back (the checkout's index entry is gone,
    # the reservation's is not)
    ledger.failing = False
    assert (
        release_expired_reservations(checkouts, checkouts, ledger, workflow, now=NOW, limit=10).repaired[
            Repair.NEVER_PROCESSED
        ]
        == []
    )
    later = release_expired_holds(ledger, checkouts, ledger, now=NOW, limit=10)
    assert later.repaired[Repair.OF_FINAL_CHECKOUT] == [checkout_id]
    assert ledger.skus[SKU].reserved == 0


@pytest.mark.parametrize("status", [CheckoutStatus.FAILED, CheckoutStatus.CANCELLED, CheckoutStatus.EXPIRED])
def test_a_final_checkouts_reservation_still_held_is_released(status: CheckoutStatus) -> None:
    # Given a checkout that ended (its compensation or cancel died before releasing) with its stock still held
    ledger = sharded_ledger()
    checkouts = InMemoryCheckouts()
    checkout_id = checkout_id_for("SESSION#s-1", "k")
    reserve_stock(ledger, checkout_id, [ReservationLine(SKU, 2)], NOW - timedelta(minutes=1))
    created = checkouts.create(
        checkout_of(checkout_id, OrderOwner(session_id="s-1"), CheckoutStatus.QUEUED, NOW - timedelta(minutes=1))
    )
    checkouts.replace(created.moved_to(status, NOW), expected_version=created.version)
    # When the upkeep runs, Then it releases the stock
    report = release_expired_holds(ledger, checkouts, ledger, now=NOW, limit=10)
    assert report.repaired[Repair.OF_FINAL_CHECKOUT] == [checkout_id]
    assert ledger.get(SKU) == Stock(SKU, 40, 0, shards=4)


def test_open_and_completed_checkouts_keep_their_reservations() -> None:
    # Given expired reservations of an open checkout (its workflow owns it) and of a completed one
    ledger = sharded_ledger()
    checkouts = InMemoryCheckouts()
    ids = {}
    for key, status in (("open", CheckoutStatus.AWAITING_PAYMENT), ("done", CheckoutStatus.COMPLETED)):
        checkout_id = ids[key] = checkout_id_for(f"SESSION#s-{key}", key)
        reserve_stock(ledger, checkout_id, [ReservationLine(SKU, 2)], NOW - timedelta(minutes=1))
        checkouts.create(
            checkout_of(checkout_id, OrderOwner(session_id=f"s-{key}"), status, NOW - timedelta(minutes=1))
        )
    # When the upkeep runs, Then both are left as they are
    report = release_expired_holds(ledger, checkouts, ledger, now=NOW, limit=10)
    assert sorted(report.left) == sorted(ids.values())
    assert report.repaired == {Repair.ORPHANED: [], Repair.OF_FINAL_CHECKOUT: []}
    assert sum(shard_reserved(ledger).values()) == 4
    # And a committed reservation is no longer listed at all
    commit_reservation(ledger, ids["done"])
    assert ledger.expired_before(NOW, 10) == [ids["open"]]


def test_the_work_per_run_is_bounded_oldest_first() -> None:
    # Given five orphaned reservations
    ledger, checkouts = sharded_ledger(), InMemoryCheckouts()
    ids = [f"orphan-{i}" for i in range(5)]
    for i, reservation_id in enumerate(ids):
        reserve_stock(ledger, reservation_id, [ReservationLine(SKU, 1)], NOW - timedelta(minutes=10 - i))
    # When the upkeep runs with room for two, Then it releases the two oldest, and the next runs the rest
    assert release_expired_holds(ledger, checkouts, ledger, now=NOW, limit=2).repaired[Repair.ORPHANED] == ids[:2]
    assert release_expired_holds(ledger, checkouts, ledger, now=NOW, limit=2).repaired[Repair.ORPHANED] == ids[2:4]
    assert release_expired_holds(ledger, checkouts, ledger, now=NOW, limit=2).repaired[Repair.ORPHANED] == ids[4:]
    assert sum(shard_reserved(ledger).values()) == 0
