"""The rest of admission without AWS: the request body and key, admission messages, the upkeep's decisions,
and the sparse index entry every checkout writer keeps in step with the status."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from commerce.adapters.dynamodb.checkouts import QUEUED_CHECKOUTS_PREFIX, checkout_item
from commerce.adapters.workflows import execution_arn
from commerce.domain.checkout.admission import (
    ExecutionState,
    MalformedMessage,
    admit_checkout,
    checkout_message,
    parse_checkout_message,
)
from commerce.domain.checkout.errors import IdempotencyKeyRequired
from commerce.domain.checkout.models import Checkout, CheckoutStatus, FailureCode, checkout_id_for
from commerce.domain.checkout.schemas import CreateCheckoutRequest, idempotency_key
from commerce.domain.checkout.upkeep import Repair, release_expired_reservations
from commerce.domain.errors import ValidationFailed
from commerce.domain.inventory.models import ReservationLine, ReservationStatus
from commerce.domain.inventory.service import reserve_stock
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderLine, OrderOwner, ShippingAddress
from tests.support.fakes.checkout import InMemoryCheckouts, InMemoryWorkflow
from tests.support.fakes.inventory import InMemoryStockLedger, SkuRecord

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 Analytical St",
    "city": "London",
    "postalCode": "N1 9GU",
    "country": "GB",
}


# ---------------------------------------------------------------------------------------------- the request


def body(**changes: Any) -> dict[str, Any]:
    address = {**ADDRESS, **changes.pop("address", {})}
    return {"email": "ada@example.com", "shippingAddress": address, **changes}


def test_a_valid_body_is_read_stripped_and_canonical() -> None:
    # Given a body with padding around the text, When it is parsed
    request = CreateCheckoutRequest.model_validate_json(
        json.dumps(body(email=" ada@example.com ", address={"line2": "  Flat 2 ", "city": " London"}))
    )
    # Then the text is stripped, and the canonical form (what "the same body" compares) has camelCase keys
    assert request.email == "ada@example.com"
    address = request.shipping_address.address()
    assert address == ShippingAddress("Ada Lovelace", "12 Analytical St", "London", "N1 9GU", "GB", line2="Flat 2")
    assert request.canonical() == {
        "email": "ada@example.com",
        "shippingAddress": {**ADDRESS, "line2": "Flat 2"},
    }
    # And an absent line2 and a null one read the same
    assert (
        CreateCheckoutRequest.model_validate(body()).canonical()
        == CreateCheckoutRequest.model_validate(body(address={"line2": None})).canonical()
    )


@pytest.mark.parametrize(
    "bad",
    [
        body(total={"amount": 1, "currency": "EUR"}),  # a client may not say what it pays
        body(address={"phone": "+44"}),  # unknown address field
        body(email="not-an-email"),
        body(email="a@b"),
        body(email=f"{'a' * 250}@example.com"),
        body(email=42),
        body(address={"country": "gb"}),
        body(address={"country": "XX"}),  # well-formed, but not an assigned code
        body(address={"country": "GBR"}),
        body(address={"name": "   "}),
        body(address={"line1": "x" * 201}),
        body(address={"postalCode": "1" * 21}),
        body(address={"city": "Lon\ndon"}),
        body(address={"city": None}),
        {"email": "ada@example.com"},
        {"shippingAddress": ADDRESS},
    ],
)
def test_bad_bodies_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CreateCheckoutRequest.model_validate(bad)


def test_the_idempotency_key_must_be_present_and_plain() -> None:
    # Given keys as clients send them, Then a present, visible-ASCII key of at most 255 characters is used as is
    assert idempotency_key(" 6f1c2b7e-4d3a-4e8b-9c1d-2a3b4c5d6e7f ") == "6f1c2b7e-4d3a-4e8b-9c1d-2a3b4c5d6e7f"
    assert idempotency_key("k" * 255) == "k" * 255
    # And an absent or blank key is IDEMPOTENCY_KEY_REQUIRED
    for missing in (None, "", "   "):
        with pytest.raises(IdempotencyKeyRequired):
            idempotency_key(missing)
    # And a key too long, with spaces inside, or not ASCII is a VALIDATION_ERROR
    for malformed in ("k" * 256, "two words", "clé", "tab\tkey"):
        with pytest.raises(ValidationFailed) as refused:
            idempotency_key(malformed)
        assert refused.value.errors[0].field == "Idempotency-Key"


# ---------------------------------------------------------------------------------------------- admission


def test_admission_starts_each_checkout_once() -> None:
    # Given a checkout's message
    workflow = InMemoryWorkflow()
    checkout_id = checkout_id_for("SESSION#s1", "k1")
    message = checkout_message(checkout_id)
    assert parse_checkout_message(message) == checkout_id
    # When it is delivered twice, Then the first delivery starts the workflow and the second finds it started
    first, second = admit_checkout(workflow, message), admit_checkout(workflow, message)
    assert (first.checkout_id, first.started, second.started) == (checkout_id, True, False)
    assert workflow.executions == {checkout_id: ExecutionState.RUNNING}


@pytest.mark.parametrize("message", ["", "not json", "[]", '{"checkoutId": 7}', '{"id": "x"}', '{"checkoutId": "x"}'])
def test_a_message_naming_no_checkout_is_malformed(message: str) -> None:
    workflow = InMemoryWorkflow()
    with pytest.raises(MalformedMessage):
        admit_checkout(workflow, message)
    assert workflow.starts == []


def test_an_execution_arn_is_derived_from_the_state_machine() -> None:
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:commerce-Checkout"
    assert execution_arn(machine, "abc") == "arn:aws:states:us-east-1:123456789012:execution:commerce-Checkout:abc"
    with pytest.raises(ValueError, match="not a state machine"):
        execution_arn("arn:aws:sqs:us-east-1:123456789012:q", "abc")


# ---------------------------------------------------------------------------------------------- upkeep


class Shop:
    """Checkouts with their reservations, as placing leaves them."""

    def __init__(self) -> None:
        self.checkouts = InMemoryCheckouts()
        self.ledger = InMemoryStockLedger()
        self.ledger.skus["CUP-1"] = SkuRecord("CUP-1", "p1", "Cup", "White", Money(1200, "EUR"), on_hand=100)
        self.workflow = InMemoryWorkflow()

    def checkout(self, key: str, *, expires_in: timedelta, status: CheckoutStatus = CheckoutStatus.QUEUED) -> str:
        # Each from its own session: a cart has one open checkout at a time.
        checkout_id = checkout_id_for(f"SESSION#s-{key}", key)
        expires_at = NOW + expires_in
        reserve_stock(self.ledger, checkout_id, [ReservationLine("CUP-1", 2)], expires_at)
        self.checkouts.create(
            Checkout(
                checkout_id=checkout_id,
                order_id="3f6c2a9e-7b1d-4c5e-9a8f-1e2d3c4b5a69",
                owner=OrderOwner(session_id=f"s-{key}"),
                status=status,
                email="ada@example.com",
                shipping_address=ShippingAddress("Ada", "1 Main St", "Paris", "75001", "FR"),
                lines=(OrderLine("CUP-1", "p1", "Cup (White)", 2, Money(1200, "EUR")),),
                total=Money(2400, "EUR"),
                reservation_expires_at=expires_at,
                created_at=expires_at - timedelta(minutes=30),
                updated_at=expires_at - timedelta(minutes=30),
            )
        )
        return checkout_id

    def run(self, limit: int = 100) -> Any:
        return release_expired_reservations(
            self.checkouts, self.checkouts, self.ledger, self.workflow, now=NOW, limit=limit
        )

    def reservation(self, checkout_id: str) -> ReservationStatus:
        reservation = self.ledger.get_reservation(checkout_id)
        assert reservation is not None
        return reservation.status


def test_upkeep_releases_a_never_started_checkout_once_and_leaves_the_others() -> None:
    # Given an expired checkout that never started, one still within its reservation, one whose workflow is
    # running, and one the workflow already moved on
    shop = Shop()
    abandoned = shop.checkout("abandoned", expires_in=-timedelta(minutes=1))
    fresh = shop.checkout("fresh", expires_in=timedelta(minutes=5))
    running = shop.checkout("running", expires_in=-timedelta(minutes=2))
    shop.workflow.start(running)
    processing = shop.checkout("processing", expires_in=-timedelta(minutes=3), status=CheckoutStatus.PROCESSING)
    # When the upkeep runs
    report = shop.run()
    # Then only the abandoned one is expired (PAYMENT_TIMEOUT) and its units given back
    assert report.repaired[Repair.NEVER_PROCESSED] == [abandoned]
    assert report.left == [running]  # the index does not list the fresh one, nor the one no longer QUEUED
    expired = shop.checkouts.get(abandoned)
    assert expired is not None
    assert expired.status is CheckoutStatus.EXPIRED
    assert expired.failure is not None
    assert expired.failure.code is FailureCode.PAYMENT_TIMEOUT
    assert expired.version == 2
    assert shop.reservation(abandoned) is ReservationStatus.RELEASED
    for kept in (fresh, running, processing):
        assert shop.reservation(kept) is ReservationStatus.RESERVED
    assert shop.ledger.skus["CUP-1"].reserved == 6
    # When it runs again, Then nothing more is released
    again = shop.run()
    assert again.repaired[Repair.NEVER_PROCESSED] == []
    assert shop.ledger.skus["CUP-1"].reserved == 6


def test_upkeep_fails_a_checkout_whose_workflow_ended_without_touching_it() -> None:
    # Given an expired QUEUED checkout whose execution failed before its first step moved it
    shop = Shop()
    checkout_id = shop.checkout("ended", expires_in=-timedelta(minutes=1))
    shop.workflow.executions[checkout_id] = ExecutionState.FAILED
    # When the upkeep runs, Then it is FAILED (INTERNAL) and its units are given back
    assert shop.run().repaired[Repair.NEVER_PROCESSED] == [checkout_id]
    failed = shop.checkouts.get(checkout_id)
    assert failed is not None
    assert failed.status is CheckoutStatus.FAILED
    assert failed.failure is not None
    assert failed.failure.code is FailureCode.INTERNAL
    assert shop.reservation(checkout_id) is ReservationStatus.RELEASED


def test_upkeep_loses_to_a_workflow_that_moves_the_checkout_first() -> None:
    # Given an expired QUEUED checkout that the workflow moves while the upkeep looks at it
    shop = Shop()
    checkout_id = shop.checkout("race", expires_in=-timedelta(minutes=1))
    read = shop.checkouts.get(checkout_id)
    assert read is not None
    stale: Checkout = read

    class MovedMeanwhile(InMemoryWorkflow):
        def state(self, name: str) -> ExecutionState | None:
            shop.checkouts.replace(stale.moved_to(CheckoutStatus.PROCESSING, NOW), expected_version=stale.version)
            return None

    shop.workflow = MovedMeanwhile()
    # When the upkeep runs, Then it leaves the checkout and its stock to the workflow
    assert shop.run().left == [checkout_id]
    assert shop.reservation(checkout_id) is ReservationStatus.RESERVED


def test_upkeep_work_is_bounded_and_one_failure_does_not_stop_the_rest() -> None:
    # Given five abandoned checkouts, one of which cannot be read
    shop = Shop()
    ids = [shop.checkout(f"k{i}", expires_in=-timedelta(minutes=10 - i)) for i in range(5)]

    class OneUnreadable(InMemoryCheckouts):
        def get(self, checkout_id: str) -> Checkout | None:
            if checkout_id == ids[0]:
                raise RuntimeError("throttled")
            return super().get(checkout_id)

    broken = OneUnreadable()
    broken.records = shop.checkouts.records
    shop.checkouts = broken
    # When the upkeep runs with room for three, Then it handles the three oldest: one failed, two released
    report = shop.run(limit=3)
    assert [checkout_id for checkout_id, _ in report.failed] == [ids[0]]
    assert report.repaired[Repair.NEVER_PROCESSED] == ids[1:3]
    # And the next run carries on with the rest
    assert shop.run(limit=3).repaired[Repair.NEVER_PROCESSED] == ids[3:]


# ---------------------------------------------------------------------------------------------- the index entry


def test_only_queued_checkouts_carry_the_index_entry_sorted_by_reservation_expiry() -> None:
    # Given a QUEUED checkout
    shop = Shop()
    checkout_id = shop.checkout("indexed", expires_in=timedelta(minutes=30))
    queued = shop.checkouts.get(checkout_id)
    assert queued is not None
    # Then its item is in a QUEUED_CHECKOUTS shard, keyed by its reservation expiry
    item = checkout_item(queued)
    assert item["GSI1PK"].startswith(QUEUED_CHECKOUTS_PREFIX)
    assert item["GSI1SK"] == f"2026-11-22T10:30:00.000Z#{checkout_id}"
    # And once it moves on, the item written for it has no index entry
    moved = checkout_item(queued.moved_to(CheckoutStatus.PROCESSING, NOW))
    assert "GSI1PK" not in moved
    assert "GSI1SK" not in moved
