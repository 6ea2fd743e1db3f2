"""DynamoDB stream event source mappings: the event Lambda sends, starting positions, batch size,
filter criteria, and retrying from the first reported failure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.event_sources import EventSources, InvokeOutcome
from localcloud.event_sources.clients import EdgeClients
from localcloud.event_sources.destinations import Destinations
from localcloud.event_sources.streams import StreamNotEnabled, StreamPoller
from localcloud.model import StreamSource
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


def make_table(dynamodb: Any) -> tuple[str, str]:
    name = unique("orders")
    table = dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    return name, table["LatestStreamArn"]


def mapping(table: str, **overrides: Any) -> StreamSource:
    settings: dict[str, Any] = {
        "function": "projector",
        "table_name": table,
        "batch_size": 100,
        "starting_position": "LATEST",
        "report_batch_item_failures": False,
    }
    return StreamSource(**{**settings, **overrides})


def delivered(invoke: RecordingInvoke) -> list[dict[str, Any]]:
    return [record for call in invoke.snapshot() for record in call.event["Records"]]


def test_writes_after_start_arrive_in_order_with_lambdas_record_shape(edge_url: str) -> None:
    # Given a table with a NEW_AND_OLD_IMAGES stream, an item written before the mapping starts at LATEST
    dynamodb = client(edge_url, "dynamodb")
    table, stream_arn = make_table(dynamodb)
    dynamodb.put_item(TableName=table, Item={"PK": {"S": "before"}})
    invoke = RecordingInvoke()

    with EventSources(local_app(stream_sources=[mapping(table)]), edge_url=edge_url, invoke=invoke):
        # When an item is inserted, modified and removed
        dynamodb.put_item(TableName=table, Item={"PK": {"S": "order-1"}, "status": {"S": "PENDING"}})
        dynamodb.put_item(TableName=table, Item={"PK": {"S": "order-1"}, "status": {"S": "PAID"}})
        dynamodb.delete_item(TableName=table, Key={"PK": {"S": "order-1"}})

        # Then the three changes arrive, in order, and nothing from before the start
        records = wait_until(lambda: len(delivered(invoke)) >= 3 and delivered(invoke), what="three stream records")
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = records
    assert insert["eventSource"] == "aws:dynamodb"
    assert insert["eventSourceARN"] == stream_arn
    assert insert["awsRegion"] == "us-east-1"
    assert insert["eventVersion"] == "1.1"
    assert insert["dynamodb"]["Keys"] == {"PK": {"S": "order-1"}}
    assert insert["dynamodb"]["NewImage"] == {"PK": {"S": "order-1"}, "status": {"S": "PENDING"}}
    assert insert["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(insert["dynamodb"]["ApproximateCreationDateTime"], int)
    assert modify["dynamodb"]["OldImage"]["status"] == {"S": "PENDING"}
    assert modify["dynamodb"]["NewImage"]["status"] == {"S": "PAID"}
    assert remove["dynamodb"]["OldImage"]["status"] == {"S": "PAID"}
    assert "NewImage" not in remove["dynamodb"]
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence)
    assert {call.invocation_type for call in invoke.snapshot()} == {"RequestResponse"}


def test_trim_horizon_reads_earlier_records_in_batches_of_the_batch_size(edge_url: str) -> None:
    # Given five items written before the mapping starts
    dynamodb = client(edge_url, "dynamodb")
    table, _ = make_table(dynamodb)
    for n in range(5):
        dynamodb.put_item(TableName=table, Item={"PK": {"S": f"item-{n}"}})
    invoke = RecordingInvoke()
    source = mapping(table, starting_position="TRIM_HORIZON", batch_size=2)

    # When the mapping starts at TRIM_HORIZON with batches of two
    with EventSources(local_app(stream_sources=[source]), edge_url=edge_url, invoke=invoke):
        calls = invoke.wait_for_calls(3)

    # Then all five arrive in order, in batches of 2, 2 and 1
    assert [len(call.event["Records"]) for call in calls] == [2, 2, 1]
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in delivered(invoke)] == [f"item-{n}" for n in range(5)]


def test_filter_criteria_drop_records_no_pattern_matches(edge_url: str) -> None:
    # Given a mapping that only wants orders becoming PAID
    dynamodb = client(edge_url, "dynamodb")
    table, _ = make_table(dynamodb)
    paid = {"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"status": {"S": ["PAID"]}}}}
    invoke = RecordingInvoke()
    source = mapping(table, filter_patterns=(paid,))

    with EventSources(local_app(stream_sources=[source]), edge_url=edge_url, invoke=invoke):
        # When an order is created, cancelled, and another one paid
        dynamodb.put_item(TableName=table, Item={"PK": {"S": "a"}, "status": {"S": "PENDING"}})
        dynamodb.put_item(TableName=table, Item={"PK": {"S": "a"}, "status": {"S": "CANCELLED"}})
        dynamodb.put_item(TableName=table, Item={"PK": {"S": "b"}, "status": {"S": "PENDING"}})
        dynamodb.put_item(TableName=table, Item={"PK": {"S": "b"}, "status": {"S": "PAID"}})
        [call] = invoke.wait_for_calls(1)

    # Then only the payment is delivered (records before it were read and dropped, since order is kept)
    [record] = call.event["Records"]
    assert record["dynamodb"]["Keys"] == {"PK": {"S": "b"}}
    assert record["eventName"] == "MODIFY"
    assert len(invoke.snapshot()) == 1


def test_a_reported_failure_resumes_from_that_record(edge_url: str) -> None:
    # Given three records and a function that reports the second as failed the first time
    dynamodb = client(edge_url, "dynamodb")
    table, _ = make_table(dynamodb)
    for key in ("a", "b", "c"):
        dynamodb.put_item(TableName=table, Item={"PK": {"S": key}})

    def respond(call: Call) -> InvokeOutcome:
        if len(call.event["Records"]) == 3:
            second = call.event["Records"][1]["dynamodb"]["SequenceNumber"]
            return ok({"batchItemFailures": [{"itemIdentifier": second}]})
        return ok({"batchItemFailures": []})

    invoke = RecordingInvoke(respond)
    source = mapping(table, starting_position="TRIM_HORIZON", report_batch_item_failures=True)

    # When the mapping runs
    with EventSources(local_app(stream_sources=[source]), edge_url=edge_url, invoke=invoke):
        first, retry = invoke.wait_for_calls(2)[:2]

    # Then the retry starts at the failed record and includes the ones after it
    keys = [[r["dynamodb"]["Keys"]["PK"]["S"] for r in call.event["Records"]] for call in (first, retry)]
    assert keys == [["a", "b", "c"], ["b", "c"]]
    assert len(invoke.snapshot()) == 2


def test_a_table_without_a_stream_fails_at_start(edge_url: str) -> None:
    # Given a table without a stream
    dynamodb = client(edge_url, "dynamodb")
    name = unique("plain")
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sources = EventSources(local_app(stream_sources=[mapping(name)]), edge_url=edge_url, invoke=RecordingInvoke())

    # When the event sources start / Then they refuse, and nothing is left running
    with pytest.raises(StreamNotEnabled):
        sources.start()
    sources.stop()


def keys_of(call: Call) -> list[str]:
    return [record["dynamodb"]["Keys"]["PK"]["S"] for record in call.event["Records"]]


def fails_on_poison(call: Call) -> InvokeOutcome:
    return function_error() if "poison" in keys_of(call) else ok()


def test_failing_records_are_skipped_after_the_retry_limit_and_described_to_the_on_failure_queue(
    edge_url: str,
) -> None:
    # Given a poison record, one retry allowed, and an on-failure queue
    dynamodb = client(edge_url, "dynamodb")
    sqs = client(edge_url, "sqs")
    table, stream_arn = make_table(dynamodb)
    failures_url = sqs.create_queue(QueueName=unique("stream-failures"))["QueueUrl"]
    failures_arn = sqs.get_queue_attributes(QueueUrl=failures_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    dynamodb.put_item(TableName=table, Item={"PK": {"S": "poison"}})
    invoke = RecordingInvoke(fails_on_poison)
    source = mapping(table, starting_position="TRIM_HORIZON", maximum_retry_attempts=1, on_failure_arn=failures_arn)

    with EventSources(local_app(stream_sources=[source]), edge_url=edge_url, invoke=invoke):
        # When the record has failed its attempts, and a good record follows
        messages = wait_until(lambda: sqs.receive_message(QueueUrl=failures_url).get("Messages"), what="a report")
        dynamodb.put_item(TableName=table, Item={"PK": {"S": "good"}})
        wait_until(lambda: any(keys_of(c) == ["good"] for c in invoke.snapshot()), what="the good record")

    # Then the poison record was tried twice, described to the queue, and the stream moved on
    assert [keys_of(c) for c in invoke.snapshot()] == [["poison"], ["poison"], ["good"]]
    report = json.loads(messages[0]["Body"])
    assert report["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert report["requestContext"]["approximateInvokeCount"] == 2
    assert report["requestContext"]["functionArn"].endswith(":function:projector")
    assert report["responseContext"]["functionError"] == "Unhandled"
    info = report["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["streamArn"] == stream_arn
    assert info["startSequenceNumber"] == info["endSequenceNumber"]


def test_a_failing_batch_is_bisected_until_the_poison_record_is_alone(edge_url: str) -> None:
    # Given four records, the third a poison record, bisection on and no retries
    dynamodb = client(edge_url, "dynamodb")
    table, _ = make_table(dynamodb)
    for key in ("a", "b", "poison", "d"):
        dynamodb.put_item(TableName=table, Item={"PK": {"S": key}})
    invoke = RecordingInvoke(fails_on_poison)
    source = mapping(
        table, starting_position="TRIM_HORIZON", bisect_batch_on_function_error=True, maximum_retry_attempts=0
    )

    # When the mapping runs until the last record is processed
    with EventSources(local_app(stream_sources=[source]), edge_url=edge_url, invoke=invoke):
        wait_until(lambda: any(keys_of(c) == ["d"] for c in invoke.snapshot()), what="the last record")

    # Then the batch was halved around the poison record, which was then skipped
    batches = [keys_of(c) for c in invoke.snapshot()]
    assert batches == [["a", "b", "poison", "d"], ["a", "b"], ["poison", "d"], ["poison"], ["d"]]


def test_the_batching_window_gathers_records_written_after_the_first_one(edge_url: str) -> None:
    # Given a poller with a long window and room for three records, whose reads the test can see
    dynamodb = client(edge_url, "dynamodb")
    streams = client(edge_url, "dynamodbstreams")
    table, _ = make_table(dynamodb)
    returned: list[int] = []

    class ObservedStreams:
        def __getattr__(self, name: str) -> Any:
            return getattr(streams, name)

        def get_records(self, **request: Any) -> Any:
            response = streams.get_records(**request)
            returned.append(len(response["Records"]))
            return response

    invoke = RecordingInvoke()
    poller = StreamPoller(
        mapping(table, batch_size=3, batching_window_seconds=60),
        dynamodb=dynamodb,
        streams=ObservedStreams(),
        destinations=Destinations(EdgeClients(edge_url, "us-east-1")),
        invoke=invoke,
        function_name="projector",
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:projector",
        region="us-east-1",
    )
    poller.start()
    try:
        # When a first record is read, and two more are written within the window
        dynamodb.put_item(TableName=table, Item={"PK": {"S": "first"}})
        wait_until(lambda: sum(returned) == 1, what="the first record to be read")
        assert invoke.snapshot() == []
        dynamodb.put_item(TableName=table, Item={"PK": {"S": "second"}})
        dynamodb.put_item(TableName=table, Item={"PK": {"S": "third"}})

        # Then one invocation carries all three, as soon as the batch is full
        [call] = invoke.wait_for_calls(1)
    finally:
        poller.stop()
        poller.join()
    assert keys_of(call) == ["first", "second", "third"]
