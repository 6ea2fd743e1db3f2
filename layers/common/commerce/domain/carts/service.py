"""Cart operations for one request: who is calling, which cart that is, change it safely, price it.

Every operation starts the same way (`_open`): one read of the session, the candidate carts and the SKUs
the operation needs; the token is checked against the session; the cart is chosen:

- a guest session (no customer bound) without a customer JWT uses its own guest cart;
- with a customer JWT, an unbound session is bound to that customer first, and its guest cart merges
  into the customer's cart (atomically with the binding, so neither a retry nor a race merges twice);
- a session bound to a customer stays that customer's session: it addresses the customer's cart with or
  without the JWT (the session token is itself a bearer credential the customer's storefront holds), and
  with the JWT of a different customer it is refused (401).

Changes are optimistic: the cart is written only if its version is still the one read, else the whole
operation is re-read and re-applied after a short random pause (so that writers which just collided do
not collide again), up to `max_attempts` times, then 409 CONFLICT. Nothing is written when a rule
refuses the change or when the change leaves the cart as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from commerce.domain.carts import rules
from commerce.domain.carts.errors import CartChangedConcurrently, CartVersionConflict
from commerce.domain.carts.models import Cart, CartLimits, CartOwner, CatalogSku, OwnerKind, PricedCart
from commerce.domain.carts.pricing import Catalog, price_cart
from commerce.domain.clock import Clock, utc_now
from commerce.domain.errors import Unauthenticated
from commerce.domain.sessions.models import Credentials, Session, SessionPolicy
from commerce.domain.sessions.service import authenticate
from commerce.retry import Backoff

# A merged guest cart is replaced by an empty tombstone rather than deleted, so that a guest write that
# raced with the merge fails its version condition instead of quietly creating a new guest cart. The
# race lasts at most one request; the tombstone only has to outlive that.
TOMBSTONE_LIFETIME = timedelta(hours=1)

# Full jitter, as AWS recommends for optimistic retries: a random pause up to a doubling ceiling.
jittered_pause = Backoff(base_seconds=0.01).pause


@dataclass(frozen=True)
class Snapshot:
    """One read: the session (None if unknown), each requested owner's cart (empty if not stored), SKUs."""

    session: Session | None
    carts: Mapping[CartOwner, Cart]
    skus: Mapping[str, CatalogSku]


class CartStore(Protocol):
    def load(self, session_id: str, owners: Sequence[CartOwner], skus: Collection[str]) -> Snapshot:
        """Read the session, the owners' carts and the SKUs together (one round trip where possible)."""
        ...

    def load_cart(self, owner: CartOwner) -> Cart:
        """The owner's cart, or an empty one when none is stored."""
        ...

    def load_skus(self, skus: Collection[str]) -> dict[str, CatalogSku]:
        """The SKUs that exist, by SKU; unknown ones are simply absent."""
        ...

    def save(self, cart: Cart, expires_at: datetime | None) -> Cart:
        """Write `cart` as version `cart.version + 1` if the stored version is still `cart.version`.

        `expires_at` sets the item's TTL (guest carts live as long as their session). Returns the cart as
        stored; raises CartVersionConflict when the stored version moved on.
        """
        ...

    def bind_customer(self, binding: CustomerBinding) -> None:
        """Apply a binding atomically, or raise CartVersionConflict if anything it read has changed."""
        ...

    def extend_session(self, session: Session, expires_at: datetime, guest_cart: Cart | None) -> None:
        """Push the session's (and its stored guest cart's) expiry to `expires_at`; best effort."""
        ...


@dataclass(frozen=True)
class CustomerBinding:
    """Everything one sign-in changes, to be written at once.

    - the session gets `customer_id` (only if it has none yet and still has the token hash read) and
      its expiry pushed to `expires_at`;
    - the guest cart becomes an empty tombstone until `tombstone_expires_at` (only if it is still at the
      version read, or still absent);
    - if the guest cart had lines, the customer's cart is written as `merged` (only if it is still at the
      version read).
    """

    session: Session
    customer_id: str
    expires_at: datetime
    guest_cart: Cart
    merged: Cart | None
    bound_at: datetime
    tombstone_expires_at: datetime


@dataclass(frozen=True)
class OpenCart:
    session: Session
    cart: Cart
    catalog: Catalog


Edit = Callable[[Cart, Catalog], Cart]


class CartService:
    def __init__(
        self,
        store: CartStore,
        limits: CartLimits,
        policy: SessionPolicy,
        clock: Clock = utc_now,
        max_attempts: int = 3,
        pause: Callable[[int], None] = jittered_pause,
    ) -> None:
        self._store = store
        self._limits = limits
        self._policy = policy
        self._clock = clock
        self._max_attempts = max_attempts
        self._pause = pause

    def view(self, credentials: Credentials) -> PricedCart:
        opened = self._open(credentials, ())
        return price_cart(opened.cart, opened.catalog, self._clock())

    def add_line(self, credentials: Credentials, sku: str, quantity: int) -> PricedCart:
        return self._change(
            credentials, (sku,), lambda cart, catalog: rules.add_quantity(cart, sku, quantity, catalog, self._limits)
        )

    def set_line(self, credentials: Credentials, sku: str, quantity: int) -> PricedCart:
        # Setting 0 removes; it needs no catalog facts about the SKU, which may well be retired by now.
        skus = (sku,) if quantity > 0 else ()
        return self._change(
            credentials, skus, lambda cart, catalog: rules.set_quantity(cart, sku, quantity, catalog, self._limits)
        )

    def remove_line(self, credentials: Credentials, sku: str) -> PricedCart:
        return self._change(credentials, (), lambda cart, catalog: rules.remove_line(cart, sku, catalog))

    def _change(self, credentials: Credentials, skus: Sequence[str], edit: Edit) -> PricedCart:
        for attempt in range(self._max_attempts):
            if attempt:
                self._pause(attempt - 1)
            opened = self._open(credentials, skus)
            changed = edit(opened.cart, opened.catalog)
            now = self._clock()
            if changed.lines == opened.cart.lines:
                return price_cart(opened.cart, opened.catalog, now)
            try:
                saved = self._store.save(replace(changed, updated_at=now), self._cart_expiry(changed, now))
            except CartVersionConflict:
                continue
            return price_cart(saved, opened.catalog, now)
        raise CartChangedConcurrently(self._max_attempts)

    def _open(self, credentials: Credentials, skus: Sequence[str]) -> OpenCart:
        for attempt in range(self._max_attempts):
            if attempt:
                self._pause(attempt - 1)
            opened = self._try_open(credentials, skus)
            if opened is not None:
                return opened
        raise CartChangedConcurrently(self._max_attempts)

    def _try_open(self, credentials: Credentials, skus: Sequence[str]) -> OpenCart | None:
        """The caller's session, cart and catalog facts; None when a binding lost a race (re-read)."""
        token = credentials.token
        guest = CartOwner.guest(token.session_id)
        owners = [guest] if credentials.customer_id is None else [guest, CartOwner.customer(credentials.customer_id)]
        snapshot = self._store.load(token.session_id, owners, skus)
        now = self._clock()
        session = authenticate(snapshot.session, token, now)

        if session.customer_id is None:
            if credentials.customer_id is None:
                cart = snapshot.carts[guest]
                self._refresh(session, now, guest_cart=cart)
            else:
                bound = self._bind(session, credentials.customer_id, snapshot, now)
                if bound is None:
                    return None
                session, cart = bound
        elif credentials.customer_id in (None, session.customer_id):
            owner = CartOwner.customer(session.customer_id)
            cart = snapshot.carts[owner] if owner in snapshot.carts else self._store.load_cart(owner)
            self._refresh(session, now, guest_cart=None)
        else:
            raise Unauthenticated("This session belongs to another customer; create a new session")

        missing = [sku for sku in cart.skus if sku not in snapshot.skus]
        catalog = {**snapshot.skus, **self._store.load_skus(missing)} if missing else snapshot.skus
        return OpenCart(session=session, cart=cart, catalog=catalog)

    def _bind(
        self, session: Session, customer_id: str, snapshot: Snapshot, now: datetime
    ) -> tuple[Session, Cart] | None:
        guest_cart = snapshot.carts[CartOwner.guest(session.session_id)]
        customer_cart = snapshot.carts[CartOwner.customer(customer_id)]
        merged = None
        if guest_cart.lines:
            merged = replace(rules.merge_carts(customer_cart, guest_cart, self._limits), updated_at=now)
        binding = CustomerBinding(
            session=session,
            customer_id=customer_id,
            expires_at=self._policy.expiry_for(session, now),
            guest_cart=guest_cart,
            merged=merged,
            bound_at=now,
            tombstone_expires_at=now + TOMBSTONE_LIFETIME,
        )
        try:
            self._store.bind_customer(binding)
        except CartVersionConflict:
            return None
        bound_session = replace(session, customer_id=customer_id, expires_at=binding.expires_at)
        cart = replace(merged, version=customer_cart.version + 1) if merged is not None else customer_cart
        return bound_session, cart

    def _refresh(self, session: Session, now: datetime, guest_cart: Cart | None) -> None:
        if self._policy.needs_refresh(session, now):
            self._store.extend_session(session, self._policy.expiry_for(session, now), guest_cart)

    def _cart_expiry(self, cart: Cart, now: datetime) -> datetime | None:
        """Guest carts expire with their session, at the latest expiry this request can give it; customer
        carts are kept."""
        return self._policy.expiry_from(now) if cart.owner.kind is OwnerKind.GUEST else None
