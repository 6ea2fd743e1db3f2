"""What the checkout domain needs from storage (adapters implement these; tests use in-memory fakes)."""

from __future__ import annotations

from typing import Protocol

from commerce.domain.checkout.models import Checkout


class CheckoutRepository(Protocol):
    def create(self, checkout: Checkout) -> Checkout:
        """Store a new checkout; if one with its id exists, return that one unchanged (a retried create)."""
        ...

    def get(self, checkout_id: str) -> Checkout | None: ...

    def replace(self, checkout: Checkout, *, expected_version: int) -> Checkout:
        """Store `checkout` if the stored one still has `expected_version`; raise `CheckoutChanged` otherwise."""
        ...
