"""The stock ledger on DynamoDB: counters on SKU items, reservations as RESERVATION items (see keys.py).

Every change is a conditional write, so no interleaving of requests can oversell or drive a counter
negative, and each write keeps `available = onHand - reserved` (conditions cannot do arithmetic, so
`available` is stored). A reservation is one TransactWriteItems: the RESERVATION item (created only if
absent, which makes a retried reserve idempotent) plus one conditional update per line. Releasing and
committing flip the reservation's status under a condition on the old status, so each happens once.

Transactions cancelled only by contention (TransactionConflict) are retried with jittered backoff.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from commerce.adapters.dynamodb.client import dynamodb_client, from_attrs, to_attrs
from commerce.adapters.dynamodb.keys import reservation_key, sku_key
from commerce.domain.errors import Conflict
from commerce.domain.inventory.errors import (
    BelowReserved,
    OutOfStock,
    ReservationClosed,
    ReservationMismatch,
    ReservationNotFound,
    Shortage,
    SkuNotFound,
    StockInconsistent,
)
from commerce.domain.inventory.models import Reservation, ReservationLine, ReservationStatus, Stock
from commerce.domain.sessions.models import rfc3339

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_dynamodb import DynamoDBClient

# Reservation items outlive their expiry by this much: the upkeep job releases expired reservations
# long before TTL may delete them (TTL deletion is not a release and would leak the units).
RESERVATION_RETENTION = timedelta(days=7)

# Cancellation reasons that mean "someone else was writing these items", not "your condition is false".
RETRIABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})

_NAMES = {
    "#onHand": "onHand",
    "#reserved": "reserved",
    "#available": "available",
    "#retired": "retired",
    "#status": "status",
}


@dataclass(frozen=True)
class CancellationReason:
    code: str
    item: dict[str, Any] | None  # the item as it was, when ReturnValuesOnConditionCheckFailure=ALL_OLD

    @property
    def condition_failed(self) -> bool:
        return self.code == "ConditionalCheckFailed"


def cancellation_reasons(error: ClientError) -> list[CancellationReason] | None:
    """One reason per transaction item when `error` is a cancelled transaction, else None."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    raw: list[dict[str, Any]] = error.response.get("CancellationReasons") or []  # type: ignore[assignment]
    return [
        CancellationReason(code=str(r.get("Code") or "None"), item=from_attrs(r["Item"]) if r.get("Item") else None)
        for r in raw
    ]


def only_contention(reasons: Sequence[CancellationReason]) -> bool:
    codes = {r.code for r in reasons} - {"None"}
    return bool(codes) and codes <= RETRIABLE_REASONS


class Backoff:
    """Full-jitter exponential backoff between transaction attempts."""

    def __init__(
        self,
        attempts: int = 6,
        base_seconds: float = 0.025,
        cap_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.attempts = attempts
        self.base_seconds = base_seconds
        self.cap_seconds = cap_seconds
        self.sleep = sleep

    def pause(self, attempt: int) -> None:
        self.sleep(random.uniform(0, min(self.cap_seconds, self.base_seconds * 2**attempt)))


class DynamoDbStockLedger:
    """`StockLedger` over the commerce table."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None, backoff: Backoff | None = None) -> None:
        self.table_name = table_name
        self._client = client
        self.backoff = backoff or Backoff()

    @property
    def client(self) -> DynamoDBClient:
        return self._client or dynamodb_client()

    # ------------------------------------------------------------------ counters

    def get(self, sku: str) -> Stock | None:
        response = self.client.get_item(TableName=self.table_name, Key=to_attrs(sku_key(sku)), ConsistentRead=True)
        item = response.get("Item")
        return _stock(sku, from_attrs(item)) if item else None

    def set_on_hand(self, sku: str, on_hand: int) -> Stock:
        from botocore.exceptions import ClientError

        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=to_attrs(sku_key(sku)),
                UpdateExpression="SET #onHand = :onHand, #available = :onHand - #reserved",
                ConditionExpression="attribute_exists(PK) AND #reserved <= :onHand",
                ExpressionAttributeNames=_names("#onHand", "#available", "#reserved"),
                ExpressionAttributeValues=to_attrs({":onHand": on_hand}),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old: dict[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
            if not old:
                raise SkuNotFound(sku) from error
            raise BelowReserved(sku, on_hand, int(from_attrs(old)["reserved"])) from error
        return _stock(sku, from_attrs(response["Attributes"]))

    # ------------------------------------------------------------------ reservations

    def reserve(self, reservation_id: str, lines: Sequence[ReservationLine], expires_at: datetime) -> Reservation:
        from botocore.exceptions import ClientError

        wanted = tuple(lines)
        reservation = Reservation(reservation_id, wanted, ReservationStatus.RESERVED, expires_at)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": to_attrs(_reservation_item(reservation)),
                    "ConditionExpression": "attribute_not_exists(PK)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            *(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": to_attrs(sku_key(line.sku)),
                        "UpdateExpression": "SET #reserved = #reserved + :q, #available = #available - :q",
                        "ConditionExpression": "attribute_exists(PK) AND #retired = :false AND #available >= :q",
                        "ExpressionAttributeNames": _names("#reserved", "#available", "#retired"),
                        "ExpressionAttributeValues": to_attrs({":q": line.quantity, ":false": False}),
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
                for line in wanted
            ),
        ]
        for attempt in range(self.backoff.attempts):
            try:
                self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return reservation
            except ClientError as error:
                reasons = cancellation_reasons(error)
                if reasons is None:
                    raise
                if reasons[0].condition_failed:
                    return self._replayed(reservation_id, wanted, reasons[0].item)
                shortages = [
                    _shortage(index, line, reason.item)
                    for index, (line, reason) in enumerate(zip(wanted, reasons[1:], strict=True))
                    if reason.condition_failed
                ]
                if shortages:
                    raise OutOfStock(shortages) from error
                if not only_contention(reasons):
                    raise
            self.backoff.pause(attempt)
        raise Conflict(f"Reservation {reservation_id} kept colliding with concurrent writes; retry")

    def get_reservation(self, reservation_id: str) -> Reservation | None:
        response = self.client.get_item(
            TableName=self.table_name, Key=to_attrs(reservation_key(reservation_id)), ConsistentRead=True
        )
        item = response.get("Item")
        return _reservation(from_attrs(item)) if item else None

    def release(self, reservation_id: str) -> Reservation:
        return self._close(reservation_id, ReservationStatus.RELEASED)

    def commit(self, reservation_id: str) -> Reservation:
        return self._close(reservation_id, ReservationStatus.COMMITTED)

    def _replayed(
        self, reservation_id: str, lines: tuple[ReservationLine, ...], old_item: dict[str, Any] | None
    ) -> Reservation:
        existing = _reservation(old_item) if old_item else self.get_reservation(reservation_id)
        if existing is None:  # deleted by TTL between the write and the read: too old to be a retry
            raise ReservationMismatch(reservation_id)
        if not existing.same_lines(lines):
            raise ReservationMismatch(reservation_id)
        return existing

    def _close(self, reservation_id: str, target: ReservationStatus) -> Reservation:
        from botocore.exceptions import ClientError

        for attempt in range(self.backoff.attempts):
            reservation = self.get_reservation(reservation_id)
            if reservation is None:
                raise ReservationNotFound(reservation_id)
            if reservation.status is target:
                return reservation
            if reservation.status is not ReservationStatus.RESERVED:
                raise ReservationClosed(reservation_id, reservation.status.value)
            try:
                self.client.transact_write_items(TransactItems=self._close_items(reservation, target))  # type: ignore[arg-type]
                return replace(reservation, status=target)
            except ClientError as error:
                reasons = cancellation_reasons(error)
                if reasons is None:
                    raise
                if reasons[0].condition_failed:
                    continue  # closed by someone else meanwhile: read it again and answer from its status
                if any(r.condition_failed for r in reasons[1:]):
                    raise StockInconsistent(
                        f"SKU counters do not hold the units of reservation {reservation_id}"
                    ) from error
                if not only_contention(reasons):
                    raise
            self.backoff.pause(attempt)
        raise Conflict(f"Reservation {reservation_id} kept colliding with concurrent writes; retry")

    def _close_items(self, reservation: Reservation, target: ReservationStatus) -> list[dict[str, Any]]:
        if target is ReservationStatus.COMMITTED:
            update = "SET #onHand = #onHand - :q, #reserved = #reserved - :q"
            condition = "#reserved >= :q AND #onHand >= :q"
            names = _names("#onHand", "#reserved")
        else:
            update = "SET #reserved = #reserved - :q, #available = #available + :q"
            condition = "#reserved >= :q"
            names = _names("#reserved", "#available")
        return [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": to_attrs(reservation_key(reservation.reservation_id)),
                    "UpdateExpression": "SET #status = :target",
                    "ConditionExpression": "#status = :reserved",
                    "ExpressionAttributeNames": _names("#status"),
                    "ExpressionAttributeValues": to_attrs(
                        {":target": target.value, ":reserved": ReservationStatus.RESERVED.value}
                    ),
                }
            },
            *(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": to_attrs(sku_key(line.sku)),
                        "UpdateExpression": update,
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": to_attrs({":q": line.quantity}),
                    }
                }
                for line in reservation.lines
            ),
        ]


def _names(*placeholders: str) -> dict[str, str]:
    return {p: _NAMES[p] for p in placeholders}


def _stock(sku: str, item: dict[str, Any]) -> Stock:
    return Stock(sku=sku, on_hand=int(item.get("onHand", 0)), reserved=int(item.get("reserved", 0)))


def _shortage(index: int, line: ReservationLine, item: dict[str, Any] | None) -> Shortage:
    if item is None or item.get("retired", False) is not False:
        return Shortage(index, line.sku, line.quantity, 0, sellable=False)
    return Shortage(index, line.sku, line.quantity, int(item.get("available", 0)), sellable=True)


def _reservation_item(reservation: Reservation) -> dict[str, Any]:
    return {
        **reservation_key(reservation.reservation_id),
        "entity": "RESERVATION",
        "reservationId": reservation.reservation_id,
        "lines": [{"sku": line.sku, "quantity": line.quantity} for line in reservation.lines],
        "status": reservation.status.value,
        "expiresAt": rfc3339(reservation.expires_at),
        "ttl": int((reservation.expires_at + RESERVATION_RETENTION).timestamp()),
    }


def _reservation(item: dict[str, Any]) -> Reservation:
    return Reservation(
        reservation_id=str(item["reservationId"]),
        lines=tuple(ReservationLine(sku=str(line["sku"]), quantity=int(line["quantity"])) for line in item["lines"]),
        status=ReservationStatus(item["status"]),
        expires_at=datetime.fromisoformat(str(item["expiresAt"])),
    )
