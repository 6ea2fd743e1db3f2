"""Operators see checkouts without the payment's clientSecret (it lets whoever holds it pay)."""

from __future__ import annotations

from commerce.domain.checkout.listing import operator_view


def test_the_client_secret_is_left_out_and_nothing_else_changes() -> None:
    # Given a checkout's API shape with a payment, and one without
    paid = {"checkoutId": "c", "payment": {"provider": "stripe", "intentId": "pi_1", "clientSecret": "pi_1_secret"}}
    queued = {"checkoutId": "q", "payment": None}
    # When shown to operators, Then the payment keeps provider and intent, not the secret
    assert operator_view(paid) == {"checkoutId": "c", "payment": {"provider": "stripe", "intentId": "pi_1"}}
    assert operator_view(queued) == queued
    # And the stored shape it was made from is not modified
    assert paid["payment"]["clientSecret"] == "pi_1_secret"  # type: ignore[index]
