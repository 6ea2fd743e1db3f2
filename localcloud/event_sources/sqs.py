"""SQS event source mappings: poll a queue through the edge and run the function with batches of messages.

As Lambda does: long-poll the queue, gather up to `batch_size` messages (waiting up to the batching
window once the first one arrives), invoke synchronously with the SQS event, and delete what
succeeded. What is not deleted becomes visible again after the queue's visibility timeout, and moto
itself moves a message to the dead-letter queue on the receive after `maxReceiveCount` (its
`receive_message` honours the RedrivePolicy), so a poison message ends in the DLQ exactly as in AWS.
At most `concurrency` batches are in flight per mapping (`ScalingConfig.MaximumConcurrency`); the
poller only takes messages off the queue when a slot is free, so nothing waits in memory. With
FilterCriteria, messages no pattern matches are deleted without invoking the function, as Lambda
does for SQS; a JSON body is matched as JSON (`{"body": {"status": ["PAID"]}}`).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from localcloud.aws import queue_url_from_arn
from localcloud.event_sources.background import BackgroundLoop
from localcloud.event_sources.batch_failures import WholeBatchFailed, failed_items
from localcloud.event_sources.filters import RecordFilter, sqs_filter_subject
from localcloud.event_sources.invocation import REQUEST_RESPONSE, Invoke
from localcloud.model import QueueSource

logger = logging.getLogger(__name__)

# Short enough that stop() returns promptly, long enough not to spin: moto wakes a waiting receive
# as soon as a message is sent.
LONG_POLL_SECONDS = 1
_SQS_MAX_MESSAGES_PER_RECEIVE = 10
_SLOT_POLL_SECONDS = 0.2
_SHORT_POLL_PAUSE_SECONDS = 0.1

# The system attributes Lambda copies into each record, in the order it writes them.
_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "AWSTraceHeader",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
    "DeadLetterQueueSourceArn",
)


def sqs_record(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the SQS event Lambda sends, built from a ReceiveMessage result."""
    attributes = message.get("Attributes", {})
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": {name: attributes[name] for name in _RECORD_ATTRIBUTES if name in attributes},
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    # Lambda sends binary values base64-encoded and always includes both list fields.
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    attribute["stringListValues"] = list(value.get("StringListValues", []))
    binary_list = value.get("BinaryListValues", [])
    attribute["binaryListValues"] = [base64.b64encode(item).decode("ascii") for item in binary_list]
    attribute["dataType"] = value["DataType"]
    return attribute


class QueuePoller(BackgroundLoop):
    """One SQS event source mapping: a receiving thread plus up to `concurrency` batches in flight."""

    def __init__(
        self,
        source: QueueSource,
        *,
        sqs: Any,
        invoke: Invoke,
        function_name: str,
        region: str,
        concurrency: int,
    ) -> None:
        super().__init__(name=f"sqs-poller:{source.queue_arn.rsplit(':', 1)[-1]}->{function_name}")
        self._source = source
        self._sqs = sqs
        self._invoke = invoke
        self._function_name = function_name
        self._region = region
        self._slots = threading.BoundedSemaphore(concurrency)
        self._workers = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=self.name)
        self._filter = RecordFilter(source.filter_patterns)
        self._queue_url = source.queue_url

    def start(self) -> None:
        # Resolved before the thread starts, so a mapping to a queue that does not exist fails loudly here.
        if not self._queue_url:
            self._queue_url = queue_url_from_arn(self._sqs, self._source.queue_arn)
        super().start()

    def join(self) -> None:
        super().join()
        # Batches already taken off the queue are finished, not abandoned.
        self._workers.shutdown(wait=True)

    def step(self) -> float:
        if not self._slots.acquire(timeout=_SLOT_POLL_SECONDS):
            return 0
        try:
            batch = self._collect_batch()
        except BaseException:
            self._slots.release()
            raise
        if not batch:
            self._slots.release()
            return 0
        self._workers.submit(self._run_batch, batch)
        return 0

    def _collect_batch(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        window = self._source.batching_window_seconds
        deadline: float | None = None
        while len(batch) < self._source.batch_size and not self.stopping:
            wait_seconds = LONG_POLL_SECONDS
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                # ReceiveMessage waits whole seconds; below one, short-poll and pause instead.
                wait_seconds = min(LONG_POLL_SECONDS, int(remaining))
            messages = self._receive(
                min(_SQS_MAX_MESSAGES_PER_RECEIVE, self._source.batch_size - len(batch)), wait_seconds
            )
            if messages:
                batch.extend(messages)
                if window <= 0:
                    break
                if deadline is None:
                    # The window opens with the first message, as Lambda's does.
                    deadline = time.monotonic() + window
            elif wait_seconds == 0 and deadline is not None:
                self.sleep(min(_SHORT_POLL_PAUSE_SECONDS, deadline - time.monotonic()))
        return batch

    def _receive(self, max_messages: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _run_batch(self, messages: list[dict[str, Any]]) -> None:
        try:
            self._settle(messages)
        except Exception:
            # The messages stay on the queue and come back after the visibility timeout.
            logger.exception("%s: batch of %d not settled", self.name, len(messages))
        finally:
            self._slots.release()

    def _settle(self, received: list[dict[str, Any]]) -> None:
        messages = received
        if self._filter:
            # Lambda deletes what no pattern matches, without invoking the function.
            wanted = {m["MessageId"] for m in received if self._filter(sqs_filter_subject(self._record(m)))}
            self._delete([m for m in received if m["MessageId"] not in wanted])
            messages = [m for m in received if m["MessageId"] in wanted]
        if not messages:
            return
        event = {"Records": [self._record(m) for m in messages]}
        outcome = self._invoke(self._function_name, json.dumps(event).encode(), REQUEST_RESPONSE)
        try:
            failed = failed_items(
                outcome,
                {m["MessageId"] for m in messages},
                report_batch_item_failures=self._source.report_batch_item_failures,
            )
        except WholeBatchFailed as failure:
            logger.warning("%s: batch of %d failed, left for redelivery: %s", self.name, len(messages), failure)
            return
        self._delete([m for m in messages if m["MessageId"] not in failed])

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return sqs_record(message, queue_arn=self._source.queue_arn, region=self._region)

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), _SQS_MAX_MESSAGES_PER_RECEIVE):
            chunk = messages[start : start + _SQS_MAX_MESSAGES_PER_RECEIVE]
            response = self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            for failure in response.get("Failed", []):
                logger.warning("%s: could not delete a message: %s", self.name, failure.get("Message"))
