"""How the DynamoDB stock ledger reads cancelled transactions: shortages, replays, contention retries.

A scripted client stands in for DynamoDB so that the rare answers (TransactionConflict) can be produced
on demand; the happy paths against moto are in tests/integration.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger, cancellation_reasons
from commerce.domain.errors import Conflict
from commerce.domain.inventory.errors import OutOfStock, ReservationMismatch
from commerce.domain.inventory.models import ReservationLine, ReservationStatus
from commerce.retry import Backoff

EXPIRES = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)


def cancelled(*reasons: dict[str, Any]) -> ClientError:
    response: Any = {
        "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
        "CancellationReasons": list(reasons),
    }
    return ClientError(response, "TransactWriteItems")


NONE = {"Code": "None"}
CONFLICT = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}


def failed(item: dict[str, Any] | None = None) -> dict[str, Any]:
    reason: dict[str, Any] = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
    if item is not None:
        reason["Item"] = item
    return reason


def sku_item(sku: str, available: int) -> dict[str, Any]:
    return {
        "PK": {"S": f"SKU#{sku}"},
        "SK": {"S": "SKU"},
        "onHand": {"N": str(available)},
        "reserved": {"N": "0"},
        "available": {"N": str(available)},
        "retired": {"BOOL": False},
    }


class ScriptedClient:
    """Answers transact_write_items from a script: an exception to raise, or None for success. The reads
    before a reservation (batch_get_item) find A-1 and B-1 unsharded with plenty of units."""

    def __init__(self, script: list[ClientError | None]) -> None:
        self._script: Iterator[ClientError | None] = iter(script)
        self.calls: list[dict[str, Any]] = []
        self.skus = [sku_item("A-1", 50), sku_item("B-1", 50)]

    def batch_get_item(self, **kwargs: Any) -> dict[str, Any]:
        return {"Responses": {"t": self.skus}}

    def transact_write_items(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        outcome = next(self._script)
        if outcome is not None:
            raise outcome
        return {}


def ledger(script: list[ClientError | None]) -> tuple[DynamoDbStockLedger, ScriptedClient, list[float]]:
    client = ScriptedClient(script)
    pauses: list[float] = []
    backoff = Backoff(attempts=3, sleep=pauses.append)
    return DynamoDbStockLedger("t", client=client, backoff=backoff), client, pauses  # type: ignore[arg-type]


LINES = [ReservationLine("A-1", 2), ReservationLine("B-1", 1)]


def test_contention_is_retried_with_backoff_then_succeeds() -> None:
    # Given DynamoDB cancels the first attempt for a concurrent transaction on B-1
    store, client, pauses = ledger([cancelled(NONE, NONE, CONFLICT), None])
    # When reserving
    reservation = store.reserve("r1", LINES, EXPIRES)
    # Then the same transaction is sent again after one pause, and the reservation holds
    assert len(client.calls) == 2
    assert client.calls[0] == client.calls[1]
    assert len(pauses) == 1
    assert reservation.status is ReservationStatus.RESERVED


def test_endless_contention_ends_in_a_conflict() -> None:
    # Given every attempt is cancelled by contention
    store, client, _ = ledger([cancelled(NONE, CONFLICT, NONE)] * 3)
    # When reserving, Then CONFLICT after the allowed attempts
    with pytest.raises(Conflict):
        store.reserve("r1", LINES, EXPIRES)
    assert len(client.calls) == 3


def test_failed_line_conditions_become_shortages_without_retry() -> None:
    # Given by the time the transaction runs, A-1 has 1 available and B-1 is retired (both unsharded)
    a1 = {"PK": {"S": "SKU#A-1"}, "available": {"N": "1"}, "retired": {"BOOL": False}}
    b1 = {"PK": {"S": "SKU#B-1"}, "available": {"N": "9"}, "retired": {"BOOL": True}}
    store, client, pauses = ledger([cancelled(NONE, failed(a1), failed(b1))])
    # When reserving
    with pytest.raises(OutOfStock) as raised:
        store.reserve("r1", LINES, EXPIRES)
    # Then one problem per line, with what is available, and no retry
    assert [(s.line, s.sku, s.available, s.sellable) for s in raised.value.shortages] == [
        (0, "A-1", 1, True),
        (1, "B-1", 0, False),
    ]
    assert len(client.calls) == 1
    assert pauses == []


def test_an_existing_reservation_item_is_a_replay() -> None:
    # Given the reservation item already exists with the same lines (a retried reserve)
    existing = {
        "PK": {"S": "RESERVATION#r1"},
        "reservationId": {"S": "r1"},
        "lines": {
            "L": [
                {"M": {"sku": {"S": "B-1"}, "quantity": {"N": "1"}}},
                {"M": {"sku": {"S": "A-1"}, "quantity": {"N": "2"}}},
            ]
        },
        "status": {"S": "RESERVED"},
        "expiresAt": {"S": "2026-11-22T10:15:00.000Z"},
    }
    store, _, _ = ledger([cancelled(failed(existing), failed(), NONE)])
    # When reserving again
    reservation = store.reserve("r1", LINES, EXPIRES)
    # Then the stored reservation is returned, not an out-of-stock error
    assert reservation.reservation_id == "r1"
    assert reservation.expires_at == EXPIRES
    # And the same id with other lines is a mismatch
    other, _, _ = ledger([cancelled(failed(existing), NONE)])
    with pytest.raises(ReservationMismatch):
        other.reserve("r1", [ReservationLine("A-1", 5)], EXPIRES)


def test_other_client_errors_propagate() -> None:
    # Given a validation error from DynamoDB (not a cancelled transaction)
    error = ClientError({"Error": {"Code": "ValidationException", "Message": "bad"}}, "TransactWriteItems")
    store, _, _ = ledger([error])
    # When reserving, Then it is not mistaken for a stock answer
    assert cancellation_reasons(error) is None
    with pytest.raises(ClientError):
        store.reserve("r1", LINES, EXPIRES)
