"""The cart service with an in-memory store: who owns which cart, sign-in merges, optimistic retries."""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from commerce.domain.carts.errors import CartVersionConflict, InsufficientStock
from commerce.domain.carts.models import Cart, CartLimits, CartLine, CartOwner, CatalogSku
from commerce.domain.carts.service import CartService, CustomerBinding, Snapshot
from commerce.domain.errors import Conflict, ErrorCode, Unauthenticated
from commerce.domain.money import Money
from commerce.domain.sessions.models import Credentials, Session, SessionPolicy
from commerce.domain.sessions.tokens import SessionToken, issue_token

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
POLICY = SessionPolicy.days(7)
LIMITS = CartLimits(max_line_quantity=10, max_lines=50)


class InMemoryCartStore:
    """The CartStore contract on dicts: versions are checked exactly as the DynamoDB conditions check them."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.carts: dict[CartOwner, tuple[Cart, datetime | None]] = {}
        self.skus: dict[str, CatalogSku] = {}
        self.calls: list[str] = []
        self.before_save: Callable[[], object] | None = None  # lets a test slip a concurrent write in

    def load(self, session_id: str, owners: Sequence[CartOwner], skus: Collection[str]) -> Snapshot:
        self.calls.append("load")
        return Snapshot(
            session=self.sessions.get(session_id),
            carts={owner: self._cart(owner) for owner in owners},
            skus={s: self.skus[s] for s in skus if s in self.skus},
        )

    def load_cart(self, owner: CartOwner) -> Cart:
        self.calls.append("load_cart")
        return self._cart(owner)

    def load_skus(self, skus: Collection[str]) -> dict[str, CatalogSku]:
        self.calls.append("load_skus")
        return {s: self.skus[s] for s in skus if s in self.skus}

    def save(self, cart: Cart, expires_at: datetime | None) -> Cart:
        self.calls.append("save")
        if self.before_save is not None:
            hook, self.before_save = self.before_save, None
            hook()
        self._check_version(cart)
        stored = replace(cart, version=cart.version + 1)
        self.carts[cart.owner] = (stored, expires_at)
        return stored

    def bind_customer(self, binding: CustomerBinding) -> None:
        self.calls.append("bind")
        current = self.sessions.get(binding.session.session_id)
        if current is None or current.customer_id is not None or current.token_hash != binding.session.token_hash:
            raise CartVersionConflict
        self._check_version(binding.guest_cart)
        if binding.merged is not None:
            self._check_version(binding.merged)
        self.sessions[current.session_id] = replace(
            current, customer_id=binding.customer_id, expires_at=binding.expires_at
        )
        guest = binding.guest_cart
        self.carts[guest.owner] = (Cart(owner=guest.owner, version=guest.version + 1), binding.tombstone_expires_at)
        if binding.merged is not None:
            self.carts[binding.merged.owner] = (replace(binding.merged, version=binding.merged.version + 1), None)

    def extend_session(self, session: Session, expires_at: datetime, guest_cart: Cart | None) -> None:
        self.calls.append("extend")
        self.sessions[session.session_id] = replace(self.sessions[session.session_id], expires_at=expires_at)

    def _cart(self, owner: CartOwner) -> Cart:
        return copy.deepcopy(self.carts[owner][0]) if owner in self.carts else Cart.empty(owner)

    def _check_version(self, cart: Cart) -> None:
        if self._cart(cart.owner).version != cart.version:
            raise CartVersionConflict


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store() -> InMemoryCartStore:
    store = InMemoryCartStore()
    for code, currency, available in [("TS-RED", "EUR", 5), ("TS-BLUE", "EUR", 50), ("MUG", "EUR", 50)]:
        store.skus[code] = CatalogSku(code, f"p-{code}", "Product", code, Money(1000, currency), available)
    return store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pauses() -> list[int]:
    """The retry pauses the service asked for (recorded instead of slept)."""
    return []


@pytest.fixture
def service(store: InMemoryCartStore, clock: Clock, pauses: list[int]) -> CartService:
    return CartService(store, LIMITS, POLICY, clock=clock, pause=pauses.append)


def new_session(store: InMemoryCartStore, *, customer_id: str | None = None) -> SessionToken:
    token = issue_token()
    store.sessions[token.session_id] = Session(
        session_id=token.session_id,
        token_hash=token.hash,
        created_at=START,
        expires_at=START + POLICY.ttl,
        customer_id=customer_id,
    )
    return token


def lines_of(store: InMemoryCartStore, owner: CartOwner) -> tuple[CartLine, ...]:
    return store.carts[owner][0].lines


def test_a_new_session_sees_an_empty_cart_and_nothing_is_written(
    service: CartService, store: InMemoryCartStore
) -> None:
    # Given a fresh guest session, When it reads its cart
    token = new_session(store)
    cart = service.view(Credentials(token))
    # Then the cart is empty and the read wrote nothing
    assert cart.lines == ()
    assert cart.item_count == 0
    assert store.carts == {}
    assert store.calls == ["load"]


def test_adding_twice_accumulates_in_one_line(service: CartService, store: InMemoryCartStore) -> None:
    # Given a guest session
    token = new_session(store)
    # When it adds 2 then 1 of the same SKU
    service.add_line(Credentials(token), "TS-BLUE", 2)
    cart = service.add_line(Credentials(token), "TS-BLUE", 1)
    # Then its guest cart has one line of 3 at version 2, expiring with the session
    guest = CartOwner.guest(token.session_id)
    assert [(line.sku, line.quantity) for line in cart.lines] == [("TS-BLUE", 3)]
    assert store.carts[guest][0].version == 2
    assert store.carts[guest][1] == START + POLICY.ttl


def test_an_unknown_or_expired_session_is_refused_and_nothing_is_written(
    service: CartService, store: InMemoryCartStore, clock: Clock
) -> None:
    # Given a session that expires at START + 7 days, and a token nobody issued
    token = new_session(store)
    stranger = issue_token()
    # When either is used after the expiry (the item still exists: TTL deletes it only eventually)
    clock.now = START + POLICY.ttl + timedelta(seconds=1)
    for presented in (token, stranger):
        with pytest.raises(Unauthenticated):
            service.add_line(Credentials(presented), "TS-BLUE", 1)
    # Then nothing was written
    assert store.carts == {}
    assert "save" not in store.calls
    assert "extend" not in store.calls


def test_a_refused_change_writes_nothing(service: CartService, store: InMemoryCartStore) -> None:
    # Given a guest cart holding 4 of a SKU with 5 available
    token = new_session(store)
    service.add_line(Credentials(token), "TS-RED", 4)
    store.calls.clear()
    # When 2 more are asked for, Then it is INSUFFICIENT_STOCK and nothing is saved
    with pytest.raises(InsufficientStock):
        service.add_line(Credentials(token), "TS-RED", 2)
    assert "save" not in store.calls
    assert lines_of(store, CartOwner.guest(token.session_id)) == (CartLine("TS-RED", 4),)


def test_the_session_expiry_slides_only_when_stale(
    service: CartService, store: InMemoryCartStore, clock: Clock
) -> None:
    # Given a session used within the refresh interval
    token = new_session(store)
    clock.now = START + timedelta(hours=20)
    service.view(Credentials(token))
    # Then its expiry is not written
    assert "extend" not in store.calls
    # When it is used more than a day after its last extension
    clock.now = START + timedelta(days=3)
    service.view(Credentials(token))
    # Then its expiry moves to now + 7 days
    assert store.calls.count("extend") == 1
    assert store.sessions[token.session_id].expires_at == clock.now + POLICY.ttl


def test_a_lost_race_is_retried_and_no_update_is_lost(service: CartService, store: InMemoryCartStore) -> None:
    # Given a guest cart with 1 TS-BLUE, and another request that adds a MUG just before this one writes
    token = new_session(store)
    service.add_line(Credentials(token), "TS-BLUE", 1)
    store.before_save = lambda: service.add_line(Credentials(token), "MUG", 2)
    store.calls.clear()
    # When this request adds 3 TS-BLUE
    cart = service.add_line(Credentials(token), "TS-BLUE", 3)
    # Then its first write lost (version moved), it re-read and re-applied, and both changes are kept
    assert [(line.sku, line.quantity) for line in cart.lines] == [("TS-BLUE", 4), ("MUG", 2)]
    assert lines_of(store, CartOwner.guest(token.session_id)) == (CartLine("TS-BLUE", 4), CartLine("MUG", 2))


def test_a_cart_that_keeps_changing_answers_conflict(
    service: CartService, store: InMemoryCartStore, pauses: list[int]
) -> None:
    # Given a store where every write loses to a concurrent one
    token = new_session(store)

    def always_lose(cart: Cart, expires_at: datetime | None) -> Cart:
        store.calls.append("save")
        raise CartVersionConflict

    store.save = always_lose  # type: ignore[method-assign]
    # When a line is added, Then after 3 attempts it is 409 CONFLICT
    with pytest.raises(Conflict) as refused:
        service.add_line(Credentials(token), "TS-BLUE", 1)
    assert refused.value.code is ErrorCode.CONFLICT
    assert store.calls.count("save") == 3
    # And it paused between attempts, with a growing ceiling, so colliding writers spread out
    assert pauses == [0, 1]


def test_signing_in_binds_the_session_and_merges_the_guest_cart_once(
    service: CartService, store: InMemoryCartStore
) -> None:
    # Given a customer whose cart has 2 TS-BLUE, and a guest session whose cart has 3 TS-BLUE and 1 MUG
    customer = CartOwner.customer("sub-ada")
    store.carts[customer] = (Cart(owner=customer, lines=(CartLine("TS-BLUE", 2),), version=5), None)
    token = new_session(store)
    service.add_line(Credentials(token), "TS-BLUE", 3)
    service.add_line(Credentials(token), "MUG", 1)
    # When the session is used with the customer's JWT
    cart = service.view(Credentials(token, customer_id="sub-ada"))
    # Then the session is bound, the carts merged (quantities add) and the guest cart emptied
    assert store.sessions[token.session_id].customer_id == "sub-ada"
    assert [(line.sku, line.quantity) for line in cart.lines] == [("TS-BLUE", 5), ("MUG", 1)]
    assert cart.cart_id == customer.cart_id
    assert lines_of(store, CartOwner.guest(token.session_id)) == ()
    # And a retry of the same request merges nothing twice
    again = service.view(Credentials(token, customer_id="sub-ada"))
    assert [(line.sku, line.quantity) for line in again.lines] == [("TS-BLUE", 5), ("MUG", 1)]
    assert store.calls.count("bind") == 1


def test_a_bound_session_without_the_jwt_still_addresses_the_customers_cart(
    service: CartService, store: InMemoryCartStore
) -> None:
    # Given a session bound to a customer with a cart
    customer = CartOwner.customer("sub-ada")
    store.carts[customer] = (Cart(owner=customer, lines=(CartLine("MUG", 1),), version=1), None)
    token = new_session(store, customer_id="sub-ada")
    # When the session is used without the JWT
    cart = service.add_line(Credentials(token), "MUG", 1)
    # Then it is the customer's cart that changes (its key came from the session: one extra read)
    assert lines_of(store, customer) == (CartLine("MUG", 2),)
    assert cart.cart_id == customer.cart_id
    assert "load_cart" in store.calls


def test_a_bound_session_with_another_customers_jwt_is_refused(service: CartService, store: InMemoryCartStore) -> None:
    # Given a session bound to customer Ada
    token = new_session(store, customer_id="sub-ada")
    # When it comes with Bob's JWT, Then it is 401 and nothing is written
    with pytest.raises(Unauthenticated):
        service.add_line(Credentials(token, customer_id="sub-bob"), "MUG", 1)
    assert store.carts == {}


def test_a_sign_in_that_loses_a_race_is_re_read_and_never_merges_twice(
    service: CartService, store: InMemoryCartStore
) -> None:
    # Given a guest cart with 2 MUG, and a concurrent request that binds the same session first
    token = new_session(store)
    service.add_line(Credentials(token), "MUG", 2)
    real_bind = store.bind_customer
    competing = True

    def bind_after_a_competitor(binding: CustomerBinding) -> None:
        nonlocal competing
        if competing:
            competing = False
            real_bind(binding)  # the competitor's identical sign-in wins...
            raise CartVersionConflict  # ...so this one's conditions fail
        real_bind(binding)

    store.bind_customer = bind_after_a_competitor  # type: ignore[method-assign]
    # When this request signs in
    cart = service.view(Credentials(token, customer_id="sub-ada"))
    # Then it re-reads, finds the session bound, and the customer's cart holds the 2 MUG exactly once
    assert [(line.sku, line.quantity) for line in cart.lines] == [("MUG", 2)]
    assert lines_of(store, CartOwner.customer("sub-ada")) == (CartLine("MUG", 2),)
