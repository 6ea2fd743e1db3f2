"""Placing a checkout with in-memory fakes: reserve all or nothing, record, queue; retries, refusals, owners."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commerce.domain.carts.models import PricedCart, PricedLine
from commerce.domain.checkout.errors import (
    AttemptAbandoned,
    Busy,
    CartEmpty,
    CheckoutInProgress,
    CheckoutNotFound,
    IdempotencyKeyReused,
)
from commerce.domain.checkout.models import Checkout, CheckoutStatus, checkout_id_for
from commerce.domain.checkout.service import (
    AdmissionPolicy,
    CheckoutDesk,
    CheckoutDetails,
    Placement,
    get_own_checkout,
    identify_owner,
    owner_key,
)
from commerce.domain.errors import ErrorCode, Unauthenticated
from commerce.domain.inventory.errors import OutOfStock
from commerce.domain.inventory.models import ReservationLine, ReservationStatus
from commerce.domain.inventory.service import release_reservation, reserve_stock
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderOwner, ShippingAddress
from commerce.domain.sessions.models import Credentials, Session
from commerce.domain.sessions.tokens import issue_token
from tests.support.fakes.checkout import InMemoryCheckoutQueue, InMemoryCheckouts
from tests.support.fakes.inventory import InMemoryStockLedger, SkuRecord

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
POLICY = AdmissionPolicy(reservation_ttl=timedelta(minutes=30), max_queue_depth=100, busy_retry_after_seconds=7)
ADDRESS = ShippingAddress(name="Ada Lovelace", line1="12 Analytical St", city="London", postal_code="N1", country="GB")
DETAILS = CheckoutDetails(email="ada@example.com", shipping_address=ADDRESS)
ORDER_ID = "3f6c2a9e-7b1d-4c5e-9a8f-1e2d3c4b5a69"


def priced_line(sku: str, quantity: int, amount: int) -> PricedLine:
    return PricedLine(
        sku=sku, product_id=f"p-{sku}", name=f"{sku} (Only)", quantity=quantity, unit_price=Money(amount, "EUR")
    )


@dataclass
class FixedCart:
    """A `CartReader` whose priced cart is whatever the test says (CartService is tested on its own)."""

    lines: tuple[PricedLine, ...] = ()
    views: list[Credentials] = field(default_factory=list)

    def view(self, credentials: Credentials) -> PricedCart:
        self.views.append(credentials)
        return PricedCart(cart_id="cart-1", currency="EUR" if self.lines else None, lines=self.lines, updated_at=NOW)


class FailingCreate(InMemoryCheckouts):
    """Checkouts whose create fails (a throttled or failed write); `stored_anyway`: it failed after writing."""

    def __init__(self, stored_anyway: bool = False) -> None:
        super().__init__()
        self.stored_anyway = stored_anyway

    def create(self, checkout: Checkout, *, replacing: str | None = None) -> Checkout:
        if self.stored_anyway:
            super().create(checkout, replacing=replacing)
        raise RuntimeError("the write failed")


@dataclass
class World:
    desk: CheckoutDesk
    checkouts: InMemoryCheckouts
    ledger: InMemoryStockLedger
    carts: FixedCart
    queue: InMemoryCheckoutQueue
    credentials: Credentials
    owner: OrderOwner

    def place(self, key: str = "key-1", details: CheckoutDetails = DETAILS) -> Placement:
        return self.desk.place(self.credentials, self.owner, key, details)

    def reserved(self, sku: str) -> int:
        return self.ledger.skus[sku].reserved


def world(
    *lines: PricedLine,
    on_hand: int = 10,
    queue_depth: int = 0,
    checkouts: InMemoryCheckouts | None = None,
    now: datetime = NOW,
) -> World:
    ledger = InMemoryStockLedger()
    for line in lines:
        ledger.skus[line.sku] = SkuRecord(line.sku, line.product_id, line.sku, "Only", line.unit_price, on_hand=on_hand)
    token = issue_token()
    stores = checkouts or InMemoryCheckouts()
    carts, queue = FixedCart(lines), InMemoryCheckoutQueue(depth=queue_depth)
    desk = CheckoutDesk(stores, ledger, carts, queue, POLICY, clock=lambda: now, order_ids=lambda: ORDER_ID)
    return World(desk, stores, ledger, carts, queue, Credentials(token), OrderOwner(session_id=token.session_id))


def test_a_checkout_reserves_every_line_records_it_queued_and_queues_it() -> None:
    # Given a cart of two lines priced by the catalog
    w = world(priced_line("CUP-1", 2, 1200), priced_line("MUG-2", 1, 900))
    # When the caller checks out
    placement = w.place()
    # Then every line is reserved under the checkout's id, until now + the reservation time
    checkout = placement.checkout
    assert placement.created
    assert checkout.checkout_id == checkout_id_for(owner_key(w.owner), "key-1")
    reservation = w.ledger.get_reservation(checkout.checkout_id)
    assert reservation is not None
    assert reservation.status is ReservationStatus.RESERVED
    assert reservation.lines == (ReservationLine("CUP-1", 2), ReservationLine("MUG-2", 1))
    assert (w.reserved("CUP-1"), w.reserved("MUG-2")) == (2, 1)
    # And the record is QUEUED with the catalog's prices, the total, the owner, a new order id and the address
    assert checkout.status is CheckoutStatus.QUEUED
    assert [(line.sku, line.quantity, line.unit_price.amount) for line in checkout.lines] == [
        ("CUP-1", 2, 1200),
        ("MUG-2", 1, 900),
    ]
    assert checkout.total == Money(3300, "EUR")
    assert checkout.order_id == ORDER_ID
    assert checkout.owner == w.owner
    assert (checkout.email, checkout.shipping_address) == (DETAILS.email, ADDRESS)
    assert checkout.reservation_expires_at == NOW + timedelta(minutes=30)
    assert w.checkouts.get(checkout.checkout_id) == checkout
    # And it is queued for admission, once
    assert w.queue.sent == [checkout.checkout_id]
    assert checkout.to_json()["status"] == "QUEUED"
    assert checkout.to_json()["payment"] is None


def test_a_retry_answers_the_same_checkout_without_reserving_again() -> None:
    # Given a placed checkout
    w = world(priced_line("CUP-1", 2, 1200))
    first = w.place()
    # When the same key comes again with the same body
    again = w.place()
    # Then it is the same checkout, not a new one, and the stock is reserved once
    assert again == Placement(first.checkout, created=False)
    assert w.reserved("CUP-1") == 2
    assert len(w.checkouts.records) == 1
    # And the checkout, still waiting, is queued again (a lost first message would otherwise strand it)
    assert w.queue.sent == [first.checkout.checkout_id] * 2
    # And the retry did not even read the cart
    assert len(w.carts.views) == 1


def test_a_retry_of_a_checkout_already_processing_is_not_queued_again() -> None:
    # Given a checkout whose workflow has started
    w = world(priced_line("CUP-1", 1, 1200))
    placed = w.place().checkout
    w.checkouts.replace(placed.moved_to(CheckoutStatus.PROCESSING, NOW), expected_version=placed.version)
    # When the key comes again, Then the current checkout answers and nothing more is queued
    assert w.place().checkout.status is CheckoutStatus.PROCESSING
    assert w.queue.sent == [placed.checkout_id]


def test_the_same_key_with_another_body_is_refused() -> None:
    # Given a placed checkout
    w = world(priced_line("CUP-1", 1, 1200))
    w.place()
    # When the same key comes with another address or email, Then 422 IDEMPOTENCY_KEY_REUSED
    for details in (
        replace(DETAILS, email="other@example.com"),
        replace(DETAILS, shipping_address=replace(ADDRESS, city="Paris")),
    ):
        with pytest.raises(IdempotencyKeyReused) as refused:
            w.place(details=details)
        assert refused.value.code is ErrorCode.IDEMPOTENCY_KEY_REUSED
    # And nothing else was reserved or queued
    assert w.reserved("CUP-1") == 1
    assert len(w.queue.sent) == 1


def test_another_key_while_a_checkout_is_open_is_refused_naming_the_open_one() -> None:
    # Given a placed checkout, still open
    w = world(priced_line("CUP-1", 1, 1200))
    first = w.place("key-1").checkout
    # When the caller checks out again with a new key
    with pytest.raises(CheckoutInProgress) as refused:
        w.place("key-2")
    # Then 409 CHECKOUT_IN_PROGRESS naming the open checkout, with its Location
    assert refused.value.code is ErrorCode.CHECKOUT_IN_PROGRESS
    assert refused.value.extensions == {"checkoutId": first.checkout_id}
    assert refused.value.headers == {"Location": f"/checkouts/{first.checkout_id}"}
    # And nothing more was reserved, recorded or queued
    assert w.reserved("CUP-1") == 1
    assert list(w.checkouts.records) == [first.checkout_id]
    assert w.queue.sent == [first.checkout_id]
    # And the first key still answers its checkout
    assert w.place("key-1").checkout == first


@pytest.mark.parametrize("final", [CheckoutStatus.FAILED, CheckoutStatus.EXPIRED, CheckoutStatus.CANCELLED])
def test_once_the_open_checkout_ended_another_key_is_another_checkout(final: CheckoutStatus) -> None:
    # Given a checkout that ended (its lock freed by the final write)
    w = world(priced_line("CUP-1", 1, 1200))
    first = w.place("key-1").checkout
    w.checkouts.replace(first.moved_to(final, NOW), expected_version=first.version)
    release_reservation(w.ledger, first.checkout_id)
    assert w.checkouts.open_checkout_of(first.cart) is None
    # When the caller checks out with a new key, Then it is a second checkout with its own reservation
    second = w.place("key-2").checkout
    assert second.checkout_id != first.checkout_id
    assert w.reserved("CUP-1") == 1
    assert w.checkouts.open_checkout_of(first.cart) == second.checkout_id


def test_a_stale_lock_naming_a_final_checkout_is_taken_over() -> None:
    # Given a lock left behind naming a checkout that ended (the process died before freeing it)
    w = world(priced_line("CUP-1", 1, 1200))
    first = w.place("key-1").checkout
    w.checkouts.records[first.checkout_id] = first.moved_to(CheckoutStatus.EXPIRED, NOW)
    release_reservation(w.ledger, first.checkout_id)
    assert w.checkouts.open_checkout_of(first.cart) == first.checkout_id
    # When the caller checks out with a new key, Then the lock passes to the new checkout
    second = w.place("key-2").checkout
    assert w.checkouts.open_checkout_of(first.cart) == second.checkout_id


def test_a_race_for_the_cart_lock_lost_after_reserving_gives_the_units_back() -> None:
    # Given a cart whose lock is taken between the desk's check and its write (another request won)
    class LosesTheRace(InMemoryCheckouts):
        def create(self, checkout: Checkout, *, replacing: str | None = None) -> Checkout:
            self.open_checkouts[checkout.cart] = winner.checkout_id
            self.records[winner.checkout_id] = winner
            return super().create(checkout, replacing=replacing)

    w = world(priced_line("CUP-1", 1, 1200), checkouts=LosesTheRace())
    winner = replace(_any_checkout(w), checkout_id="00000000-0000-4000-8000-000000000001")
    # When the caller checks out, Then 409 CHECKOUT_IN_PROGRESS names the winner
    with pytest.raises(CheckoutInProgress) as refused:
        w.place("key-2")
    assert refused.value.checkout_id == winner.checkout_id
    # And the loser's reservation was released: nothing held, nothing queued
    assert w.reserved("CUP-1") == 0
    assert w.queue.sent == []


def test_concurrent_checkouts_of_one_cart_with_different_keys_admit_exactly_one() -> None:
    # Given one cart and plenty of stock
    w = world(priced_line("CUP-1", 1, 1200), on_hand=100)
    # When 16 requests with 16 keys check it out at the same moment
    barrier = threading.Barrier(16)

    def attempt(n: int) -> str:
        barrier.wait()
        try:
            return w.place(f"key-{n}").checkout.checkout_id
        except CheckoutInProgress as refused:
            return f"409:{refused.checkout_id}"

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(attempt, range(16)))
    # Then exactly one was accepted, the others were told its id, and only its unit is held
    accepted = [a for a in answers if not a.startswith("409:")]
    assert len(accepted) == 1
    assert {a.removeprefix("409:") for a in answers} == set(accepted)
    assert w.reserved("CUP-1") == 1
    assert list(w.checkouts.records) == accepted


def _any_checkout(w: World) -> Checkout:
    """A QUEUED checkout of the world's owner that was never placed through the desk (a competitor's)."""
    probe = world(*w.carts.lines)
    placed = probe.place("probe").checkout
    return replace(placed, owner=w.owner)


def test_an_empty_cart_is_refused_and_nothing_happens() -> None:
    # Given an empty cart, When the caller checks out
    w = world()
    with pytest.raises(CartEmpty) as refused:
        w.place()
    # Then 409 CART_EMPTY and nothing is recorded or queued
    assert refused.value.code is ErrorCode.CART_EMPTY
    assert w.checkouts.records == {}
    assert w.queue.sent == []


def test_a_deep_queue_refuses_before_reserving() -> None:
    # Given more checkouts waiting than the bound
    w = world(priced_line("CUP-1", 1, 1200), queue_depth=POLICY.max_queue_depth + 1)
    # When the caller checks out
    with pytest.raises(Busy) as refused:
        w.place()
    # Then 429 BUSY says when to retry, and nothing is reserved, recorded or queued
    assert refused.value.code is ErrorCode.BUSY
    assert refused.value.headers == {"Retry-After": "7"}
    assert w.reserved("CUP-1") == 0
    assert w.checkouts.records == {}
    assert w.queue.sent == []


def test_a_queue_at_its_bound_still_admits() -> None:
    # Given exactly as many checkouts waiting as allowed, When checking out, Then it is accepted
    w = world(priced_line("CUP-1", 1, 1200), queue_depth=POLICY.max_queue_depth)
    assert w.place().created


def test_out_of_stock_names_each_short_line_and_reserves_nothing() -> None:
    # Given three lines of which the first and last cannot be served
    w = world(priced_line("CUP-1", 5, 1200), priced_line("MUG-2", 1, 900), priced_line("BAG-3", 4, 500), on_hand=3)
    # When the caller checks out
    with pytest.raises(OutOfStock) as refused:
        w.place()
    # Then 409 OUT_OF_STOCK with one problem per short line, naming its SKU
    assert refused.value.code is ErrorCode.OUT_OF_STOCK
    assert [(p.field, p.code) for p in refused.value.errors] == [
        ("lines[0].quantity", "INSUFFICIENT_STOCK"),
        ("lines[2].quantity", "INSUFFICIENT_STOCK"),
    ]
    assert "CUP-1" in refused.value.errors[0].message
    assert "BAG-3" in refused.value.errors[1].message
    # And nothing at all is reserved, recorded or queued
    assert (w.reserved("CUP-1"), w.reserved("MUG-2"), w.reserved("BAG-3")) == (0, 0, 0)
    assert w.ledger.reservations == {}
    assert w.checkouts.records == {}
    assert w.queue.sent == []


def test_a_failed_record_gives_the_stock_back() -> None:
    # Given checkouts whose write fails
    w = world(priced_line("CUP-1", 2, 1200), checkouts=FailingCreate())
    # When the caller checks out, Then the error surfaces
    with pytest.raises(RuntimeError):
        w.place()
    # And the reservation it took is released: nothing is held for a checkout that does not exist
    assert w.reserved("CUP-1") == 0
    assert w.queue.sent == []


def test_a_record_that_was_written_despite_the_error_keeps_its_stock() -> None:
    # Given checkouts whose write reports an error after storing the record
    w = world(priced_line("CUP-1", 2, 1200), checkouts=FailingCreate(stored_anyway=True))
    # When the caller checks out, Then the error surfaces but the recorded checkout keeps its reservation
    with pytest.raises(RuntimeError):
        w.place()
    assert w.reserved("CUP-1") == 2
    assert len(w.checkouts.records) == 1


def test_a_reservation_left_by_a_crashed_attempt_is_used_by_the_retry() -> None:
    # Given an attempt that reserved the same lines and died before recording the checkout
    w = world(priced_line("CUP-1", 2, 1200))
    checkout_id = checkout_id_for(owner_key(w.owner), "key-1")
    expires = NOW + timedelta(minutes=10)
    reserve_stock(w.ledger, checkout_id, [ReservationLine("CUP-1", 2)], expires)
    # When the retry comes, Then the checkout is recorded on that reservation, which is not taken twice
    placement = w.place()
    assert placement.created
    assert placement.checkout.reservation_expires_at == expires
    assert w.reserved("CUP-1") == 2


@pytest.mark.parametrize(
    "earlier",
    ["other lines", "released", "expired"],
)
def test_an_unusable_reservation_left_by_an_earlier_attempt_is_given_back(earlier: str) -> None:
    # Given an earlier attempt with this key whose reservation cannot serve this cart
    w = world(priced_line("CUP-1", 2, 1200))
    checkout_id = checkout_id_for(owner_key(w.owner), "key-1")
    lines = [ReservationLine("CUP-1", 1 if earlier == "other lines" else 2)]
    expires = NOW - timedelta(seconds=1) if earlier == "expired" else NOW + timedelta(minutes=10)
    reserve_stock(w.ledger, checkout_id, lines, expires)
    if earlier == "released":
        release_reservation(w.ledger, checkout_id)
    # When the retry comes, Then 409 CONFLICT asks for a new key
    with pytest.raises(AttemptAbandoned) as refused:
        w.place()
    assert refused.value.code is ErrorCode.CONFLICT
    # And no units stay held, nothing is recorded or queued
    assert w.reserved("CUP-1") == 0
    assert w.checkouts.records == {}
    assert w.queue.sent == []


@settings(max_examples=40, deadline=None)
@given(
    on_hand=st.integers(min_value=0, max_value=6),
    attempts=st.lists(st.tuples(st.sampled_from(["k1", "k2", "k3"]), st.integers(1, 3)), min_size=1, max_size=12),
)
def test_no_sequence_of_checkouts_and_retries_reserves_more_than_on_hand(
    on_hand: int, attempts: list[tuple[str, int]]
) -> None:
    # Given a SKU with some units, When checkouts with repeated keys and changing quantities come in any order
    w = world(priced_line("CUP-1", 1, 1200), on_hand=on_hand)
    accepted: dict[str, int] = {}
    for key, quantity in attempts:
        w.carts.lines = (priced_line("CUP-1", quantity, 1200),)
        try:
            placement = w.place(key)
        except (OutOfStock, AttemptAbandoned, CheckoutInProgress):
            continue
        accepted[placement.checkout.checkout_id] = placement.checkout.lines[0].quantity
    # Then no more than on hand is ever reserved, and exactly what the accepted checkouts hold
    assert w.reserved("CUP-1") == sum(accepted.values()) <= on_hand
    assert set(w.checkouts.records) == set(accepted)


# ---------------------------------------------------------------------------------------------- who and whose


def session(
    token_session_id: str, token_hash: str, *, customer_id: str | None = None, expired: bool = False
) -> Session:
    expires = NOW - timedelta(seconds=1) if expired else NOW + timedelta(days=1)
    return Session(token_session_id, token_hash, NOW - timedelta(days=1), expires, customer_id=customer_id)


def reads(stored: Session | None) -> Callable[[str], Session | None]:
    return lambda _: stored


def test_the_owner_is_the_live_session_and_its_customer() -> None:
    token = issue_token()
    guest = session(token.session_id, token.hash)
    bound = session(token.session_id, token.hash, customer_id="cust-1")
    # Given a guest session, Then the owner is the session; with a JWT, also the customer
    assert identify_owner(Credentials(token), reads(guest), NOW) == OrderOwner(session_id=token.session_id)
    assert identify_owner(Credentials(token, "cust-9"), reads(guest), NOW) == OrderOwner(token.session_id, "cust-9")
    # Given a session bound to a customer, Then the owner is both, with or without the JWT
    assert identify_owner(Credentials(token), reads(bound), NOW) == OrderOwner(token.session_id, "cust-1")
    # And a JWT of another customer, an expired, unknown or forged session are 401
    for credentials, stored in (
        (Credentials(token, "cust-2"), bound),
        (Credentials(token), session(token.session_id, token.hash, expired=True)),
        (Credentials(token), None),
        (Credentials(token), session(token.session_id, issue_token().hash)),
    ):
        with pytest.raises(Unauthenticated):
            identify_owner(credentials, reads(stored), NOW)


def test_only_the_owner_reads_a_checkout() -> None:
    # Given a checkout placed by a session bound to a customer
    w = world(priced_line("CUP-1", 1, 1200))
    w.owner = OrderOwner(session_id=w.owner.session_id, customer_id="cust-1")
    checkout = w.place().checkout
    # When its session or its customer (from another session) reads it, Then they get it
    assert get_own_checkout(w.checkouts, w.owner, checkout.checkout_id) == checkout
    assert get_own_checkout(w.checkouts, OrderOwner("other-session", "cust-1"), checkout.checkout_id) == checkout
    # When anyone else reads it, or an id that is unknown or malformed, Then 404 alike
    for owner, checkout_id in (
        (OrderOwner("other-session"), checkout.checkout_id),
        (OrderOwner("other-session", "cust-2"), checkout.checkout_id),
        (w.owner, checkout_id_for("SESSION#x", "nothing")),
        (w.owner, "not-a-checkout-id"),
        (w.owner, checkout.checkout_id.upper()),
    ):
        with pytest.raises(CheckoutNotFound):
            get_own_checkout(w.checkouts, owner, checkout_id)
