"""Placing a checkout (`POST /checkouts`) and reading one back (`GET /checkouts/{checkoutId}`).

Placing, in this order, so that a refusal changes nothing:

1. The id is derived from the session and the `Idempotency-Key` (`checkout_id_for`). If that checkout
   exists, this is a retry: answer it (and queue it again while it waits, in case the first attempt's
   message never left), provided the body is the one that created it.
2. The cart is read and priced from the catalog; an empty one is 409 CART_EMPTY.
3. If more checkouts wait for admission than the policy allows, 429 BUSY: nothing is reserved.
4. If the cart's open-checkout lock names a checkout that is still open, 409 CHECKOUT_IN_PROGRESS naming it:
   nothing is reserved. A lock naming a final (or vanished) checkout is stale, and is taken over in step 6.
5. Every line is reserved in one transaction, reservation id = checkout id (409 OUT_OF_STOCK otherwise).
6. The checkout is recorded (QUEUED, with a new order id and the catalog prices) together with the cart's
   lock, in one write conditional on the lock being free or still naming the stale checkout of step 4. Two
   requests racing past step 4 both reserve, but only one write wins: the other releases its reservation
   and answers 409 CHECKOUT_IN_PROGRESS. If the write fails otherwise and the record is not there, the
   reservation is released again.
7. The checkout is queued for admission.

The lock is freed when the checkout becomes final (the repository's `replace`); a crash between the final
status write and that leaves a lock naming a final checkout, which step 4 sees as stale: a cart is never
blocked by a checkout that has ended. A record and its lock are written in one transaction, so a lock never
names a checkout that was not recorded.

Exactly-once rests on the id: a retry reserves under the same reservation id (idempotent in the ledger),
creates the same record (idempotent in the repository) and queues a message whose execution name is that
id (idempotent in Step Functions). The handler adds Powertools idempotency on top, which replays the first
response for 24 hours and tells a reused key (422) or one still in progress (409) from a retry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from commerce.domain.carts.models import PricedCart
from commerce.domain.checkout.admission import CheckoutQueue, is_checkout_id
from commerce.domain.checkout.errors import (
    AttemptAbandoned,
    Busy,
    CartEmpty,
    CartLockTaken,
    CheckoutChanged,
    CheckoutInProgress,
    CheckoutNotFound,
    IdempotencyKeyReused,
)
from commerce.domain.checkout.models import Checkout, CheckoutStatus, cart_of, checkout_id_for
from commerce.domain.checkout.ports import CheckoutRepository
from commerce.domain.clock import Clock
from commerce.domain.inventory.errors import ReservationMismatch
from commerce.domain.inventory.models import ReservationLine, ReservationStatus
from commerce.domain.inventory.ports import StockLedger
from commerce.domain.inventory.service import release_reservation, reserve_stock
from commerce.domain.orders.models import OrderLine, OrderOwner, ShippingAddress, new_order_id, order_clock
from commerce.domain.orders.owners import owner_of
from commerce.domain.sessions.models import Credentials
from commerce.domain.sessions.service import SessionReader, authenticate

MAX_LOCK_ATTEMPTS = 3  # each lost race is to a checkout just created (open), so a second loss is already rare


class CartReader(Protocol):
    def view(self, credentials: Credentials) -> PricedCart:
        """The caller's cart priced from the catalog (CartService.view)."""
        ...


@dataclass(frozen=True)
class AdmissionPolicy:
    reservation_ttl: timedelta  # how long stock is held for a checkout that has not been paid
    max_queue_depth: int  # more checkouts waiting than this: 429 BUSY
    busy_retry_after_seconds: int  # what a BUSY answer tells the client to wait


@dataclass(frozen=True)
class CheckoutDetails:
    """What the customer decides at checkout (the request body)."""

    email: str
    shipping_address: ShippingAddress


@dataclass(frozen=True)
class Placement:
    checkout: Checkout
    created: bool  # False when the key named an existing checkout (a retry)


def owner_key(owner: OrderOwner) -> str:
    """The scope of an `Idempotency-Key`: the session (API.md: "the same key from the same session")."""
    if owner.session_id is None:
        raise ValueError("a checkout is placed from a session")
    return f"SESSION#{owner.session_id}"


def buyer_of(owner: OrderOwner) -> str:
    """Who a purchase limit counts against: the customer when there is one, else the guest session."""
    if owner.customer_id is not None:
        return f"CUSTOMER#{owner.customer_id}"
    return owner_key(owner)


def identify_owner(credentials: Credentials, sessions: SessionReader, now: datetime) -> OrderOwner:
    """Who is checking out: the live session the token proves, and its customer (bound, or proven by a JWT).

    Done before anything else (before an idempotent replay, in particular), so that a replay is only ever
    given to the session that made the request.
    """
    token = credentials.token
    return owner_of(authenticate(sessions(token.session_id), token, now), credentials.customer_id)


def get_own_checkout(checkouts: CheckoutRepository, owner: OrderOwner, checkout_id: str) -> Checkout:
    """The caller's checkout; someone else's answers exactly as a missing one does (404, never its data)."""
    checkout = checkouts.get(checkout_id) if is_checkout_id(checkout_id) else None
    if checkout is None or not checkout.owned_by(owner):
        raise CheckoutNotFound(f"There is no checkout {checkout_id!r}")
    return checkout


class CheckoutDesk:
    """Places checkouts (see the module docstring for the steps and why they come in this order)."""

    def __init__(
        self,
        checkouts: CheckoutRepository,
        ledger: StockLedger,
        carts: CartReader,
        queue: CheckoutQueue,
        policy: AdmissionPolicy,
        clock: Clock = order_clock,
        order_ids: Callable[[], str] = new_order_id,
    ) -> None:
        self._checkouts = checkouts
        self._ledger = ledger
        self._carts = carts
        self._queue = queue
        self._policy = policy
        self._clock = clock
        self._order_ids = order_ids

    def place(
        self, credentials: Credentials, owner: OrderOwner, idempotency_key: str, details: CheckoutDetails
    ) -> Placement:
        checkout_id = checkout_id_for(owner_key(owner), idempotency_key)
        existing = self._checkouts.get(checkout_id)
        if existing is not None:
            return self._resume(existing, details)

        cart = self._carts.view(credentials)
        if not cart.lines:
            raise CartEmpty()
        if self._queue.depth() > self._policy.max_queue_depth:
            raise Busy(self._policy.busy_retry_after_seconds)
        stale = self._stale_holder(self._checkouts.open_checkout_of(cart_of(owner)))

        now = self._clock()
        expires_at = self._reserve(checkout_id, cart, now, buyer_of(owner))
        checkout = Checkout(
            checkout_id=checkout_id,
            order_id=self._order_ids(),
            owner=owner,
            status=CheckoutStatus.QUEUED,
            email=details.email,
            shipping_address=details.shipping_address,
            lines=tuple(
                OrderLine(
                    sku=line.sku,
                    product_id=line.product_id,
                    name=line.name,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                )
                for line in cart.lines
            ),
            total=cart.subtotal,
            reservation_expires_at=expires_at,
            created_at=now,
            updated_at=now,
        )
        try:
            stored = self._record(checkout, stale)
        except CheckoutInProgress:
            release_reservation(self._ledger, checkout_id)  # the record was not written: nothing refers to it
            raise
        except Exception:
            # Not knowing whether the write happened, look: only a checkout that was never recorded gives
            # its units back (a recorded one is queued by the client's retry, or expired by the upkeep).
            if self._checkouts.get(checkout_id) is None:
                release_reservation(self._ledger, checkout_id)
            raise
        if stored.status is CheckoutStatus.QUEUED:
            self._queue.enqueue(stored.checkout_id)
        return Placement(stored, created=stored == checkout)

    def _stale_holder(self, holder: str | None) -> str | None:
        """The lock's holder when it may be taken over (final, or vanished); CheckoutInProgress if it is open."""
        if holder is None:
            return None
        found = self._checkouts.get(holder)
        if found is not None and not found.status.final:
            raise CheckoutInProgress(holder)
        return holder

    def _record(self, checkout: Checkout, stale: str | None) -> Checkout:
        """Create the record with the cart's lock, taking over a stale lock (see the module docstring)."""
        for _ in range(MAX_LOCK_ATTEMPTS):
            try:
                return self._checkouts.create(checkout, replacing=stale)
            except CartLockTaken as taken:
                stale = self._stale_holder(taken.holder)
        raise CheckoutChanged("The cart's open checkout kept changing; retry")

    def _reserve(self, checkout_id: str, cart: PricedCart, now: datetime, buyer: str) -> datetime:
        """Reserve the cart's lines under the checkout's id (counted against `buyer`'s purchase limits);
        returns when the reservation expires."""
        lines = [ReservationLine(sku=line.sku, quantity=line.quantity) for line in cart.lines]
        try:
            reservation = reserve_stock(
                self._ledger, checkout_id, lines, expires_at=now + self._policy.reservation_ttl, buyer=buyer
            )
        except ReservationMismatch as error:
            # An earlier attempt with this key reserved other lines, then failed before recording the
            # checkout. Nothing else refers to that reservation: give its units back.
            release_reservation(self._ledger, checkout_id)
            raise AttemptAbandoned() from error
        if reservation.status is not ReservationStatus.RESERVED or reservation.expires_at <= now:
            # An earlier attempt's reservation that was undone, or held too long to be worth using.
            if reservation.status is ReservationStatus.RESERVED:
                release_reservation(self._ledger, checkout_id)
            raise AttemptAbandoned()
        return reservation.expires_at

    def _resume(self, existing: Checkout, details: CheckoutDetails) -> Placement:
        if existing.email != details.email or existing.shipping_address != details.shipping_address:
            raise IdempotencyKeyReused()
        if existing.status is CheckoutStatus.QUEUED:
            # The first attempt may have failed between recording and queuing; a second message is harmless.
            self._queue.enqueue(existing.checkout_id)
        return Placement(existing, created=False)
