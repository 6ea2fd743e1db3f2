"""SQS: the checkout queue that admission reads (`CheckoutQueue`, a standard queue with a dead-letter queue).

A standard queue delivers at least once and in no particular order; neither matters here, because the
consumer starts executions named after their checkout (commerce.domain.checkout.admission).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from commerce.domain.checkout.admission import checkout_message

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@cache
def sqs_client() -> SQSClient:
    import boto3  # imported here so that module import stays light (cold start)

    return boto3.client("sqs")


class SqsCheckoutQueue:
    """`CheckoutQueue` over one SQS queue, addressed by its URL (`!Ref CheckoutQueue`)."""

    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> SQSClient:
        return self._client or sqs_client()

    def depth(self) -> int:
        response = self.client.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(response.get("Attributes", {}).get("ApproximateNumberOfMessages", "0"))

    def enqueue(self, checkout_id: str) -> None:
        self.client.send_message(QueueUrl=self.queue_url, MessageBody=checkout_message(checkout_id))
