"""One contract, two checkout stores: the DynamoDB adapters (on moto) and the in-memory fake alike.

A checkout is created once, read back whole, replaced only from the version read; QUEUED checkouts whose
reservation ran out are found by the upkeep, oldest first.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

import pytest

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.queued_checkouts import DynamoDbQueuedCheckouts
from commerce.domain.checkout.errors import CheckoutChanged
from commerce.domain.checkout.models import Checkout, CheckoutStatus, Failure, FailureCode, Payment, checkout_id_for
from commerce.domain.checkout.ports import CheckoutRepository
from commerce.domain.checkout.upkeep import QueuedCheckouts
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderLine, OrderOwner, ShippingAddress
from tests.support.fakes.checkout import InMemoryCheckouts

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class Checkouts(CheckoutRepository, QueuedCheckouts, Protocol):
    """Both ports: the fake implements them on one object, DynamoDB with two adapters on one table."""


class DynamoDbCheckoutStore(DynamoDbCheckouts, DynamoDbQueuedCheckouts):
    """The two DynamoDB adapters as one object, so the cases below run unchanged against both stores."""


@pytest.fixture(params=["memory", "dynamodb"])
def repo(request: pytest.FixtureRequest) -> Checkouts:
    if request.param == "memory":
        return InMemoryCheckouts()
    return DynamoDbCheckoutStore(request.getfixturevalue("commerce_table"))


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


def test_a_checkout_round_trips_and_a_second_create_returns_the_first(repo: Checkouts) -> None:
    # Given a stored checkout
    first = repo.create(_checkout())
    # When the same id is created again with other facts, Then the stored one is returned unchanged
    again = repo.create(_checkout(email="other@example.com"))
    assert again == first
    assert repo.get(first.checkout_id) == first
    assert repo.get("no-such-checkout") is None


def test_replace_moves_forward_only_from_the_version_read(repo: Checkouts) -> None:
    # Given a stored QUEUED checkout
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


def test_replacing_a_checkout_that_was_never_stored_is_refused(repo: Checkouts) -> None:
    # Given an empty store; When a checkout is replaced as if version 1 had been read
    # Then the write is refused and nothing is stored
    with pytest.raises(CheckoutChanged):
        repo.replace(_checkout(version=2), expected_version=1)
    assert repo.get(_checkout().checkout_id) is None


def test_the_upkeep_finds_queued_checkouts_whose_reservation_ran_out(repo: Checkouts) -> None:
    # Given three QUEUED checkouts whose reservations run out at T0+1, T0+2 and T0+3 minutes,
    # and one that already moved on (PROCESSING) with an old reservation, each from its own cart (a cart has
    # one open checkout at a time)
    ids = []
    for minute in (3, 1, 2):
        stored = repo.create(
            _checkout(
                checkout_id=checkout_id_for(f"SESSION#s{minute}", "key"),
                owner=OrderOwner(session_id=f"s{minute}"),
                reservation_expires_at=T0 + timedelta(minutes=minute),
            )
        )
        ids.append((minute, stored.checkout_id))
    moving = repo.create(_checkout(checkout_id=checkout_id_for("SESSION#s9", "key"), owner=OrderOwner(session_id="s9")))
    repo.replace(moving.moved_to(CheckoutStatus.PROCESSING, T0), expected_version=moving.version)
    by_minute = dict(ids)
    # When the upkeep asks for those expired before T0+2m30s
    found = repo.expired_before(T0 + timedelta(minutes=2, seconds=30), limit=10)
    # Then exactly the two queued ones whose reservation ran out are named
    assert sorted(found) == sorted([by_minute[1], by_minute[2]])
    # And a small limit still names some of them, and only them ("about `limit`": DynamoDB's is per shard)
    limited = repo.expired_before(T0 + timedelta(minutes=2, seconds=30), limit=1)
    assert limited
    assert set(limited) <= {by_minute[1], by_minute[2]}
    assert repo.expired_before(T0, limit=10) == []


def test_final_statuses_do_not_move() -> None:
    done = _checkout(status=CheckoutStatus.COMPLETED)
    with pytest.raises(ValueError, match="cannot become"):
        done.moved_to(CheckoutStatus.EXPIRED, T0)
    assert checkout_id_for("SESSION#a", "k") == checkout_id_for("SESSION#a", "k") != checkout_id_for("SESSION#b", "k")
