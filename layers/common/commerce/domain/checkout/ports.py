"""What the checkout domain needs from storage (adapters implement these; tests use in-memory fakes)."""

from __future__ import annotations

from typing import Protocol

from commerce.domain.checkout.models import Checkout


class CheckoutRepository(Protocol):
    """Checkout records, and each cart's open-checkout lock: the id of the cart's latest checkout, written in
    the same write as that checkout's record, so a cart never has two open checkouts (see service.py)."""

    def create(self, checkout: Checkout, *, replacing: str | None = None) -> Checkout:
        """Store a new checkout and make it its cart's open checkout, in one write, if the cart's lock is free
        or still names `replacing` (a checkout the caller found final); `CartLockTaken` otherwise, naming the
        lock's holder. If a checkout with its id exists, return that one unchanged (a retried create)."""
        ...

    def get(self, checkout_id: str) -> Checkout | None: ...

    def open_checkout_of(self, cart: str) -> str | None:
        """The checkout the cart's lock names (it may have ended since), or None when the lock is free."""
        ...

    def replace(self, checkout: Checkout, *, expected_version: int) -> Checkout:
        """Store `checkout` if the stored one still has `expected_version`; raise `CheckoutChanged` otherwise.
        A checkout stored final frees its cart's lock, if the lock still names it (best effort: a lock left
        naming a final checkout is taken over by the cart's next checkout)."""
        ...
