"""`Queues` (commerce.domain.operations.queues) over SQS: attribute counts and a receive-send-delete move.

SQS's own StartMessageMoveTask runs asynchronously and reports no count when it is done; a move here is
synchronous and bounded, batches of 10: receive (hidden for 60 s), send them to the target (bodies and
attributes as they were), then delete from the source only those the target accepted. What a failed send
keeps reappears in the source after the visibility timeout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from commerce.adapters.queues import sqs_client
from commerce.domain.operations.queues import QueueCounts

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

_COUNT_ATTRIBUTES: list[Any] = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]
_BATCH = 10
_HIDDEN_SECONDS = 60


class SqsQueues:
    def __init__(self, client: SQSClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> SQSClient:
        return self._client or sqs_client()

    def counts(self, url: str) -> QueueCounts:
        attributes = self.client.get_queue_attributes(QueueUrl=url, AttributeNames=_COUNT_ATTRIBUTES)["Attributes"]
        return QueueCounts(
            visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
            in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        )

    def move(self, source_url: str, target_url: str, max_messages: int) -> int:
        moved = 0
        while moved < max_messages:
            received = self.client.receive_message(
                QueueUrl=source_url,
                MaxNumberOfMessages=min(_BATCH, max_messages - moved),
                VisibilityTimeout=_HIDDEN_SECONDS,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not received:
                break
            entries: list[Any] = [
                {
                    "Id": str(index),
                    "MessageBody": message["Body"],
                    **({"MessageAttributes": message["MessageAttributes"]} if message.get("MessageAttributes") else {}),
                }
                for index, message in enumerate(received)
            ]
            sent = self.client.send_message_batch(QueueUrl=target_url, Entries=entries).get("Successful", [])
            sent_ids = {entry["Id"] for entry in sent}
            to_delete: list[Any] = [
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(received)
                if str(index) in sent_ids
            ]
            if to_delete:
                self.client.delete_message_batch(QueueUrl=source_url, Entries=to_delete)
            moved += len(to_delete)
            if len(to_delete) < len(received):
                break  # the target refuses some: stop rather than spin on them
        return moved
