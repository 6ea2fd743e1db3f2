"""Payment records and handled webhook events on the commerce table (see keys.py).

PAYMENT#<intentId> / TASK, one per payment intent:
  intentId, checkoutId, orderId, taskToken (the workflow task waiting for the intent; the newest wins),
  outcome (SUCCEEDED / DECLINED / CLOSED, written once: `attribute_not_exists(outcome)`), decidedAt,
  refundId / refundedAt (a refund the provider accepted), restockedAt (the order's units went back on the
  shelf: written in the same transaction as the SKU counters, only if absent, so that happens once).
  The write that decides CLOSED (or closes a DECLINED payment, whose intent is still payable) also lists the
  record in GSI1 (CLOSED_INTENTS#<shard>, <decidedAt>#<intentId>,
  time_index.py); the entry is removed once the provider confirmed the intent cancelled
  (`intent_closed`) or its payment refunded (`record_refund`). So an intent whose cancel failed (the
  provider down, the function killed) stays listed, and the upkeep cancels it (DynamoDbClosedIntents).
  Kept without TTL: the restock marker must outlive any refund an operator may still make.
WEBHOOK#<eventId> / EVENT: type, receivedAt, ttl (30 days, far beyond the provider's 3 days of retries).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from commerce.adapters.dynamodb import time_index
from commerce.adapters.dynamodb.client import TRANSACTION_BACKOFF, dynamodb_client, from_attrs, to_attrs
from commerce.adapters.dynamodb.inventory import cancellation_reasons, only_contention
from commerce.adapters.dynamodb.keys import closed_intents_partition, payment_task_key, sku_key, webhook_event_key
from commerce.domain.clock import rfc3339, utc_now
from commerce.domain.errors import Conflict
from commerce.domain.inventory.errors import StockInconsistent
from commerce.domain.inventory.models import MAX_RESERVATION_LINES, ReservationLine
from commerce.domain.payments.models import PaymentOutcome, PaymentRecord, Refund
from commerce.retry import Backoff

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

WEBHOOK_EVENT_RETENTION = timedelta(days=30)
CLOSED_INTENT_SHARDS = 16
CLOSED_INTENT_PARTITIONS = tuple(closed_intents_partition(shard) for shard in range(CLOSED_INTENT_SHARDS))
_NOT_LISTED = "REMOVE GSI1PK, GSI1SK"
_IDENTITY = "#entity = :entity, #intentId = :intentId, #checkoutId = if_not_exists(#checkoutId, :checkoutId), " + (
    "#orderId = if_not_exists(#orderId, :orderId), #updatedAt = :now"
)
_IDENTITY_NAMES = {
    "#entity": "entity",
    "#intentId": "intentId",
    "#checkoutId": "checkoutId",
    "#orderId": "orderId",
    "#updatedAt": "updatedAt",
}


class DynamoDbPaymentRecords:
    """`PaymentRecords` of commerce.domain.payments."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None, backoff: Backoff | None = None) -> None:
        self.table_name = table_name
        self._client = client
        self.backoff = backoff or TRANSACTION_BACKOFF

    @property
    def client(self) -> DynamoDBClient:
        return self._client or dynamodb_client()

    def get(self, intent_id: str) -> PaymentRecord | None:
        response = self.client.get_item(
            TableName=self.table_name, Key=to_attrs(payment_task_key(intent_id)), ConsistentRead=True
        )
        return record_from_item(from_attrs(response["Item"])) if "Item" in response else None

    def store_task(self, intent_id: str, checkout_id: str, order_id: str, task_token: str) -> PaymentRecord:
        return self._update(
            intent_id,
            checkout_id,
            order_id,
            "SET #taskToken = :taskToken",
            {"#taskToken": "taskToken"},
            {":taskToken": task_token},
        )

    def decide(self, intent_id: str, checkout_id: str, order_id: str, outcome: PaymentOutcome) -> PaymentRecord:
        from botocore.exceptions import ClientError

        expression = "SET #outcome = :outcome, #decidedAt = :now"
        names = {"#outcome": "outcome", "#decidedAt": "decidedAt"}
        values: dict[str, Any] = {":outcome": outcome.value}
        condition = "attribute_not_exists(#outcome)"
        if outcome is PaymentOutcome.CLOSED:
            # Closing a DECLINED payment keeps its outcome but lists it too: a declined intent is still payable.
            listed = time_index.entry(CLOSED_INTENT_PARTITIONS, intent_id, utc_now())
            expression = (
                "SET #outcome = if_not_exists(#outcome, :outcome), #decidedAt = if_not_exists(#decidedAt, :now)"
            )
            expression += ", GSI1PK = :gsi1pk, GSI1SK = :gsi1sk"
            values.update({":gsi1pk": listed["GSI1PK"], ":gsi1sk": listed["GSI1SK"], ":declined": "DECLINED"})
            condition += " OR #outcome = :declined"
        try:
            return self._update(intent_id, checkout_id, order_id, expression, names, values, condition=condition)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old: dict[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
            decided = record_from_item(from_attrs(old)) if old else self.get(intent_id)
            if decided is None:  # never expected: the condition failed on an item that has an outcome
                raise Conflict(f"The payment record of {intent_id} vanished while being decided") from error
            return decided

    def record_refund(self, intent_id: str, checkout_id: str, order_id: str, refund: Refund) -> None:
        expression, names, values = "SET #refundedAt = :now", {"#refundedAt": "refundedAt"}, {}
        if refund.refund_id is not None:
            expression += ", #refundId = :refundId"
            names["#refundId"] = "refundId"
            values[":refundId"] = refund.refund_id
        self._update(intent_id, checkout_id, order_id, expression, names, values, remove=_NOT_LISTED)

    def intent_closed(self, intent_id: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=to_attrs(payment_task_key(intent_id)),
                UpdateExpression=_NOT_LISTED,
                ConditionExpression="attribute_exists(PK)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise  # no record: nothing is listed

    def restock(self, intent_id: str, checkout_id: str, order_id: str, lines: Sequence[ReservationLine]) -> bool:
        from botocore.exceptions import ClientError

        if not 1 <= len(lines) <= MAX_RESERVATION_LINES:
            raise ValueError(f"a restock covers 1 to {MAX_RESERVATION_LINES} lines (one transaction)")
        items = self._restock_items(intent_id, checkout_id, order_id, lines)
        for attempt in range(self.backoff.attempts):
            try:
                self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return True
            except ClientError as error:
                reasons = cancellation_reasons(error)
                if reasons is None:
                    raise
                if reasons[0].condition_failed:
                    return False  # restocked before: the marker is there
                if any(reason.condition_failed for reason in reasons[1:]):
                    raise StockInconsistent(f"A SKU of order {order_id} no longer exists; nothing restocked") from error
                if not only_contention(reasons):
                    raise
            self.backoff.pause(attempt)
        raise Conflict(f"Restocking order {order_id} kept colliding with concurrent writes; retry")

    # ------------------------------------------------------------------ plumbing

    def _update(
        self,
        intent_id: str,
        checkout_id: str,
        order_id: str,
        expression: str,
        names: dict[str, str],
        values: dict[str, Any],
        condition: str | None = None,
        remove: str = "",
    ) -> PaymentRecord:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": to_attrs(payment_task_key(intent_id)),
            "UpdateExpression": f"{expression}, {_IDENTITY} {remove}".rstrip(),
            "ExpressionAttributeNames": {**names, **_IDENTITY_NAMES},
            "ExpressionAttributeValues": to_attrs({**values, **_identity_values(intent_id, checkout_id, order_id)}),
            "ReturnValues": "ALL_NEW",
        }
        if condition is not None:
            request["ConditionExpression"] = condition
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        response = self.client.update_item(**request)
        return record_from_item(from_attrs(response["Attributes"]))

    def _restock_items(
        self, intent_id: str, checkout_id: str, order_id: str, lines: Sequence[ReservationLine]
    ) -> list[dict[str, Any]]:
        marker = {
            "Update": {
                "TableName": self.table_name,
                "Key": to_attrs(payment_task_key(intent_id)),
                "UpdateExpression": f"SET #restockedAt = :now, {_IDENTITY}",
                "ConditionExpression": "attribute_not_exists(#restockedAt)",
                "ExpressionAttributeNames": {"#restockedAt": "restockedAt", **_IDENTITY_NAMES},
                "ExpressionAttributeValues": to_attrs(_identity_values(intent_id, checkout_id, order_id)),
            }
        }
        counters = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": to_attrs(sku_key(line.sku)),
                    "UpdateExpression": "SET #onHand = #onHand + :q, #available = #available + :q",
                    "ConditionExpression": "attribute_exists(PK)",
                    "ExpressionAttributeNames": {"#onHand": "onHand", "#available": "available"},
                    "ExpressionAttributeValues": to_attrs({":q": line.quantity}),
                }
            }
            for line in lines
        ]
        return [marker, *counters]


def _identity_values(intent_id: str, checkout_id: str, order_id: str) -> dict[str, Any]:
    return {
        ":entity": "payment",
        ":intentId": intent_id,
        ":checkoutId": checkout_id,
        ":orderId": order_id,
        ":now": rfc3339(utc_now()),
    }


def record_from_item(item: dict[str, Any]) -> PaymentRecord:
    outcome = item.get("outcome")
    return PaymentRecord(
        intent_id=str(item["intentId"]),
        checkout_id=str(item.get("checkoutId", "")),
        order_id=str(item.get("orderId", "")),
        task_token=item.get("taskToken"),
        outcome=PaymentOutcome(outcome) if outcome else None,
        refund_id=item.get("refundId"),
        refunded="refundedAt" in item,
        restocked="restockedAt" in item,
        awaiting_cancel="GSI1PK" in item,
    )


class DynamoDbClosedIntents:
    """`ClosedIntents` of commerce.domain.payments.closing: the CLOSED records' GSI1 entries."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or dynamodb_client()

    def closed_before(self, moment: datetime, limit: int) -> Sequence[str]:
        return time_index.ids_before(self.client, self.table_name, CLOSED_INTENT_PARTITIONS, "intentId", moment, limit)


class DynamoDbWebhookLog:
    """`WebhookLog` of commerce.domain.payments: one item per handled event id."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or dynamodb_client()

    def seen(self, event_id: str) -> bool:
        response = self.client.get_item(
            TableName=self.table_name,
            Key=to_attrs(webhook_event_key(event_id)),
            ConsistentRead=True,
            ProjectionExpression="PK",
        )
        return "Item" in response

    def remember(self, event_id: str, event_type: str) -> None:
        now = utc_now()
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=to_attrs(
                    {
                        **webhook_event_key(event_id),
                        "entity": "webhookEvent",
                        "eventId": event_id,
                        "type": event_type,
                        "receivedAt": rfc3339(now),
                        "ttl": int((now + WEBHOOK_EVENT_RETENTION).timestamp()),
                    }
                ),
                ConditionExpression="attribute_not_exists(PK)",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return  # a concurrent delivery of the same event remembered it first
