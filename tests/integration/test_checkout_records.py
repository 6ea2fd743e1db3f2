"""Checkout records on DynamoDB: created once, read back whole, replaced only from the version read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.domain.checkout.errors import CheckoutChanged
from commerce.domain.checkout.models import Checkout, CheckoutStatus, Failure, FailureCode, Payment, checkout_id_for
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderLine, OrderOwner, ShippingAddress

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _checkout(**overrides: object) -> Checkout:
    values: dict[str, object] = {
        "checkout_id": checkout_id_for("SESSION#s1", "key-1"),
        "order_id": "7d4c1f5e-0000-4000-8000-000000000001",
        "owner": OrderOwner(session_id="s1"),
        "status": CheckoutStatus.QUEUED,
        "email": "buyer@example.com",
        "shipping_address": ShippingAddress("Ada", "1 Main St", "Paris", "75001", "FR"),
        "lines": (OrderLine("CUP-1", "p1", "Cup (White)", 2, Money(1200, "EUR")),),
        "total": Money(2400, "EUR"),
        "reservation_expires_at": T0 + timedelta(minutes=30),
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(overrides)
    return Checkout(**values)  # type: ignore[arg-type]


def test_a_checkout_round_trips_and_a_second_create_returns_the_first(commerce_table: str) -> None:
    # Given a stored checkout
    repo = DynamoDbCheckouts(commerce_table)
    first = repo.create(_checkout())
    # When the same id is created again with other facts, Then the stored one is returned unchanged
    again = repo.create(_checkout(email="other@example.com"))
    assert again == first
    assert repo.get(first.checkout_id) == first
    assert repo.get("no-such-checkout") is None


def test_replace_moves_forward_only_from_the_version_read(commerce_table: str) -> None:
    # Given a stored QUEUED checkout
    repo = DynamoDbCheckouts(commerce_table)
    stored = repo.create(_checkout())
    # When it moves to AWAITING_PAYMENT via PROCESSING
    processing = repo.replace(stored.moved_to(CheckoutStatus.PROCESSING, T0), expected_version=stored.version)
    payment = Payment("stripe", "pi_1", "pi_1_secret_x")
    awaiting = processing.moved_to(CheckoutStatus.AWAITING_PAYMENT, T0, payment=payment)
    repo.replace(awaiting, expected_version=processing.version)
    # Then it reads back with its payment
    assert repo.get(stored.checkout_id) == awaiting
    # And a writer holding the old version loses
    failed = processing.moved_to(CheckoutStatus.FAILED, T0, failure=Failure(FailureCode.PAYMENT_DECLINED, "declined"))
    with pytest.raises(CheckoutChanged):
        repo.replace(failed, expected_version=processing.version)


def test_final_statuses_do_not_move() -> None:
    done = _checkout(status=CheckoutStatus.COMPLETED)
    with pytest.raises(ValueError, match="cannot become"):
        done.moved_to(CheckoutStatus.EXPIRED, T0)
    assert checkout_id_for("SESSION#a", "k") == checkout_id_for("SESSION#a", "k") != checkout_id_for("SESSION#b", "k")
