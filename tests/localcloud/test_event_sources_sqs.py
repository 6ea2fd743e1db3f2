"""SQS event source mappings: the event Lambda sends, batching, partial batch failures, redelivery,
the dead-letter queue after maxReceiveCount, and MaximumConcurrency."""

from __future__ import annotations

import base64
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from localcloud.event_sources import EventSources, InvokeOutcome
from localcloud.model import LambdaFunction, QueueSource
from tests.support.event_sources import (
    Call,
    RecordingInvoke,
    client,
    function_error,
    local_app,
    ok,
    unique,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.localcloud


def make_queue(sqs: Any, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=unique("orders"), Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def queue_counts(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight) messages."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def mapping(queue_arn: str, **overrides: Any) -> QueueSource:
    settings: dict[str, Any] = {
        "function": "consumer",
        "queue_arn": queue_arn,
        "batch_size": 10,
        "batching_window_seconds": 0,
        "report_batch_item_failures": True,
        "maximum_concurrency": None,
    }
    return QueueSource(**{**settings, **overrides})


def consumer_function() -> LambdaFunction:
    return LambdaFunction(
        logical_id="ConsumerFunction",
        name="commerce-consumer",
        arn="arn:aws:lambda:us-east-1:123456789012:function:commerce-consumer",
        handler="app.lambda_handler",
        code_dir=Path("functions/consumer"),
        layer_dirs=(),
        environment={},
        timeout_seconds=10,
        memory_mb=512,
        reserved_concurrency=None,
    )


def bodies(call: Call) -> list[str]:
    return [record["body"] for record in call.event["Records"]]


def test_records_have_the_shape_lambda_sends_and_are_deleted_after_success(edge_url: str) -> None:
    # Given a queue holding one message with a string and a binary attribute
    sqs = client(edge_url, "sqs")
    url, arn = make_queue(sqs)
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody='{"checkoutId": "c-1"}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "checkout"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    invoke = RecordingInvoke()
    app = local_app(queue_sources=[mapping(arn, function="ConsumerFunction")])
    app.functions["ConsumerFunction"] = consumer_function()

    # When the mapping (which names the function by its logical id) runs
    with EventSources(app, edge_url=edge_url, invoke=invoke):
        [call] = invoke.wait_for_calls(1)
        wait_until(lambda: queue_counts(sqs, url) == (0, 0), what="the message to be deleted")

    # Then the function, by its physical name, got Lambda's SQS event, synchronously
    assert call.function == "commerce-consumer"
    assert call.invocation_type == "RequestResponse"
    [record] = call.event["Records"]
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == '{"checkoutId": "c-1"}'
    assert record["md5OfBody"] == sent["MD5OfMessageBody"]
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert record["receiptHandle"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= record["attributes"].keys()
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "checkout",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert base64.b64decode(record["messageAttributes"]["blob"]["binaryValue"]) == b"\x00\x01"


def test_only_the_reported_item_is_redelivered_after_a_partial_batch_failure(edge_url: str) -> None:
    # Given three messages and a function that reports the second one as failed the first time
    sqs = client(edge_url, "sqs")
    url, arn = make_queue(sqs, VisibilityTimeout="1")
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)

    def respond(call: Call) -> InvokeOutcome:
        failed = [r["messageId"] for r in call.event["Records"] if r["body"] == "b"]
        first_attempt = call.event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "1"
        return ok({"batchItemFailures": [{"itemIdentifier": i} for i in failed]} if first_attempt else None)

    invoke = RecordingInvoke(respond)

    # When the mapping runs until the queue is empty
    with EventSources(local_app(queue_sources=[mapping(arn)]), edge_url=edge_url, invoke=invoke):
        first, second = invoke.wait_for_calls(2)[:2]
        wait_until(lambda: queue_counts(sqs, url) == (0, 0), what="the queue to drain")

    # Then the first batch held all three, and only "b" came back, on its second receive
    assert sorted(bodies(first)) == ["a", "b", "c"]
    assert bodies(second) == ["b"]
    assert second.event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert len(invoke.snapshot()) == 2


def test_a_function_error_without_item_reporting_keeps_the_whole_batch(edge_url: str) -> None:
    # Given three messages, a mapping without ReportBatchItemFailures and a function that fails once
    sqs = client(edge_url, "sqs")
    url, arn = make_queue(sqs, VisibilityTimeout="1")
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    failures = iter([function_error()])
    invoke = RecordingInvoke(lambda call: next(failures, ok({"batchItemFailures": [{"itemIdentifier": "ignored"}]})))
    source = mapping(arn, report_batch_item_failures=False)

    # When the mapping runs until the queue is empty
    with EventSources(local_app(queue_sources=[source]), edge_url=edge_url, invoke=invoke):
        wait_until(lambda: queue_counts(sqs, url) == (0, 0), what="the queue to drain")

    # Then every message was delivered twice, the second time as its second receive
    # (and the response of the successful call was not read as item failures)
    deliveries = [r for call in invoke.snapshot() for r in call.event["Records"]]
    assert sorted(r["body"] for r in deliveries) == ["a", "a", "b", "b", "c", "c"]
    assert sorted(r["attributes"]["ApproximateReceiveCount"] for r in deliveries) == ["1", "1", "1", "2", "2", "2"]


@pytest.mark.slow
def test_a_poison_message_moves_to_the_dead_letter_queue_after_max_receive_count(edge_url: str) -> None:
    # Given a queue with a DLQ after two receives, and a function that always fails "poison"
    sqs = client(edge_url, "sqs")
    dlq_url, dlq_arn = make_queue(sqs)
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    url, arn = make_queue(sqs, VisibilityTimeout="1", RedrivePolicy=redrive)
    sqs.send_message(QueueUrl=url, MessageBody="good")
    sqs.send_message(QueueUrl=url, MessageBody="poison")

    def respond(call: Call) -> InvokeOutcome:
        failed = [{"itemIdentifier": r["messageId"]} for r in call.event["Records"] if r["body"] == "poison"]
        return ok({"batchItemFailures": failed})

    invoke = RecordingInvoke(respond)

    # When the mapping runs until the poison message reaches the DLQ
    with EventSources(local_app(queue_sources=[mapping(arn)]), edge_url=edge_url, invoke=invoke):
        wait_until(lambda: queue_counts(sqs, dlq_url) == (1, 0), what="the DLQ to receive the message")
        wait_until(lambda: queue_counts(sqs, url) == (0, 0), what="the source queue to drain")

    # Then "poison" was tried exactly maxReceiveCount times, "good" once, and the DLQ holds "poison"
    delivered = [body for call in invoke.snapshot() for body in bodies(call)]
    assert delivered.count("poison") == 2
    assert delivered.count("good") == 1
    [dead] = sqs.receive_message(QueueUrl=dlq_url)["Messages"]
    assert dead["Body"] == "poison"


def test_batch_size_bounds_every_invocation(edge_url: str) -> None:
    # Given five waiting messages and a batch size of two
    sqs = client(edge_url, "sqs")
    url, arn = make_queue(sqs)
    for n in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=str(n))
    invoke = RecordingInvoke()

    # When the mapping runs until the queue is empty
    with EventSources(local_app(queue_sources=[mapping(arn, batch_size=2)]), edge_url=edge_url, invoke=invoke):
        wait_until(lambda: queue_counts(sqs, url) == (0, 0), what="the queue to drain")

    # Then the messages came in batches of at most two, each exactly once
    calls = invoke.snapshot()
    assert sorted(len(call.event["Records"]) for call in calls) == [1, 2, 2]
    assert sorted(body for call in calls for body in bodies(call)) == ["0", "1", "2", "3", "4"]


def test_the_batching_window_keeps_gathering_until_the_batch_is_full(edge_url: str) -> None:
    # Given a mapping with a long batching window and a batch size of three, and a first message taken
    sqs = client(edge_url, "sqs")
    url, arn = make_queue(sqs, VisibilityTimeout="120")
    invoke = RecordingInvoke()
    source = mapping(arn, batch_size=3, batching_window_seconds=60)
    with EventSources(local_app(queue_sources=[source]), edge_url=edge_url, invoke=invoke):
        sqs.send_message(QueueUrl=url, MessageBody="first")
        wait_until(lambda: queue_counts(sqs, url) == (0, 1), what="the poller to take the first message")
        assert invoke.snapshot() == []

        # When two more messages arrive within the window
        sqs.send_message(QueueUrl=url, MessageBody="second")
        sqs.send_message(QueueUrl=url, MessageBody="third")

        # Then one invocation carries all three, as soon as the batch is full
        [call] = invoke.wait_for_calls(1)
    assert sorted(bodies(call)) == ["first", "second", "third"]


def test_an_expired_batching_window_invokes_with_what_it_has(edge_url: str) -> None:
    # Given a mapping with a one-second window and room for ten messages
    sqs = client(edge_url, "sqs")
    url, arn = make_queue(sqs)
    invoke = RecordingInvoke()
    source = mapping(arn, batch_size=10, batching_window_seconds=1)

    # When a single message arrives
    with EventSources(local_app(queue_sources=[source]), edge_url=edge_url, invoke=invoke):
        sqs.send_message(QueueUrl=url, MessageBody="alone")

        # Then it is delivered on its own once the window closes
        [call] = invoke.wait_for_calls(1)
    assert bodies(call) == ["alone"]


def test_maximum_concurrency_bounds_the_batches_in_flight(edge_url: str) -> None:
    # Given six messages, batches of one, MaximumConcurrency 2 and a function that blocks until released
    sqs = client(edge_url, "sqs")
    url, arn = make_queue(sqs, VisibilityTimeout="120")
    for n in range(6):
        sqs.send_message(QueueUrl=url, MessageBody=str(n))
    release = threading.Event()
    lock = threading.Lock()
    in_flight = [0]
    peak = [0]

    def respond(call: Call) -> InvokeOutcome:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        release.wait()
        with lock:
            in_flight[0] -= 1
        return ok()

    invoke = RecordingInvoke(respond)
    source = mapping(arn, batch_size=1, maximum_concurrency=2)

    # When the mapping runs
    with EventSources(local_app(queue_sources=[source]), edge_url=edge_url, invoke=invoke):
        wait_until(lambda: in_flight[0] == 2, what="two invocations in flight")
        # Give an unbounded poller every chance to start a third before looking (proving a bound needs a pause).
        time.sleep(0.5)
        # Then only two run, and the poller leaves the other messages on the queue meanwhile
        assert in_flight[0] == 2
        assert queue_counts(sqs, url) == (4, 2)
        release.set()
        wait_until(lambda: queue_counts(sqs, url) == (0, 0), what="the queue to drain")

    assert peak[0] == 2
    assert sorted(body for call in invoke.snapshot() for body in bodies(call)) == ["0", "1", "2", "3", "4", "5"]


def test_messages_no_filter_matches_are_deleted_without_invoking(edge_url: str) -> None:
    # Given a mapping that only wants paid orders, and a paid, a pending and a non-JSON message
    sqs = client(edge_url, "sqs")
    url, arn = make_queue(sqs)
    for body in ('{"status": "PENDING"}', '{"status": "PAID", "orderId": "o-1"}', "not json"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    invoke = RecordingInvoke()
    source = mapping(arn, filter_patterns=({"body": {"status": ["PAID"]}},))

    # When the mapping runs until the queue is empty
    with EventSources(local_app(queue_sources=[source]), edge_url=edge_url, invoke=invoke):
        wait_until(lambda: queue_counts(sqs, url) == (0, 0), what="the queue to drain")

    # Then only the paid order reached the function; the others were deleted
    assert [body for call in invoke.snapshot() for body in bodies(call)] == ['{"status": "PAID", "orderId": "o-1"}']
