"""GET /admin/checkouts, GET /admin/queues, POST /admin/queues/{queueName}/redrive and GET /admin/upkeep, called
with their events/ samples against moto (table from template.yaml, real SQS queues); operators only; bad input is
400 problem+json and changes nothing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.client import dynamodb_client, to_attrs
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.keys import sku_key
from commerce.adapters.dynamodb.upkeep_runs import DynamoDbUpkeepRuns
from commerce.domain.checkout.models import Checkout, CheckoutStatus
from commerce.domain.inventory.models import ReservationLine
from commerce.domain.money import Money
from commerce.domain.operations.upkeep import UpkeepRun
from commerce.domain.orders.models import OrderLine, OrderOwner, ShippingAddress
from tests.integration.test_checkout_saga_admin import conforms
from tests.support.handlers import load_handler
from tests.support.lambda_events import FakeLambdaContext, http_event, load_event, response_json

pytestmark = pytest.mark.integration

CUSTOMER = {"sub": "c0ffee00-0000-4000-8000-000000000001", "cognito:groups": "[customers]"}
ADDRESS = ShippingAddress(name="Ada Lovelace", line1="12 Analytical St", city="London", postal_code="N1", country="GB")
# Fixed names: the functions read QUEUES once per process, and moto's queue URLs follow from the names.
QUEUE, DEAD_LETTERS = "operator-views-checkouts", "operator-views-checkouts-dlq"
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def call(function: str, event: dict[str, Any]) -> dict[str, Any]:
    return load_handler(function)(event, FakeLambdaContext())


def answer(response: dict[str, Any], status: int = 200) -> Any:
    assert response["statusCode"] == status, response["body"]
    return response_json(response)


def problem(response: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    assert response["statusCode"] == status, response["body"]
    assert response["headers"]["Content-Type"] == "application/problem+json"
    body = response_json(response)
    assert body["code"] == code, body
    return body


def checkout(table: str, created_at: datetime, status: CheckoutStatus = CheckoutStatus.QUEUED) -> Checkout:
    record = Checkout(
        checkout_id=str(uuid.uuid4()),
        order_id=str(uuid.uuid4()),
        owner=OrderOwner(session_id=f"sess-{uuid.uuid4().hex[:12]}"),
        status=status,
        email="ada@example.com",
        shipping_address=ADDRESS,
        lines=(OrderLine("CUP-1", "p-cup", "Espresso cup", 1, Money(1200, "EUR")),),
        total=Money(1200, "EUR"),
        reservation_expires_at=created_at + timedelta(minutes=30),
        created_at=created_at,
        updated_at=created_at,
    )
    return DynamoDbCheckouts(table).create(record)


def list_checkouts(query: dict[str, str], claims: dict[str, Any] | None = None) -> dict[str, Any]:
    return call("admin_list_checkouts", http_event("admin_list_checkouts", query=query, claims=claims))


def every_page(query: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = answer(list_checkouts({**query, **({"cursor": cursor} if cursor else {})}))
        conforms(page, "AdminCheckoutList")
        items += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            return items


# ---------------------------------------------------------------------- GET /admin/checkouts
def test_checkouts_are_listed_newest_first_across_pages(commerce_table: str) -> None:
    # Given 25 checkouts created a minute apart (spread over the index's shards)
    made = [checkout(commerce_table, T0 + timedelta(minutes=i)) for i in range(25)]
    # When an operator pages through them 4 at a time
    items = every_page({"limit": "4"})
    # Then each comes exactly once, newest first, in the checkout's shape
    assert [item["checkoutId"] for item in items] == [c.checkout_id for c in reversed(made)]
    assert items[0] == made[-1].to_json()


def test_the_status_filter_and_the_time_range(commerce_table: str) -> None:
    # Given checkouts of several statuses over an hour
    completed = [checkout(commerce_table, T0 + timedelta(minutes=i), CheckoutStatus.COMPLETED) for i in (0, 20, 40)]
    failed = checkout(commerce_table, T0 + timedelta(minutes=30), CheckoutStatus.FAILED)
    for i in range(12):
        checkout(commerce_table, T0 + timedelta(minutes=i * 5 + 1))
    # When filtered by status, 2 per page, Then only those, newest first
    assert [i["checkoutId"] for i in every_page({"status": "COMPLETED", "limit": "2"})] == [
        c.checkout_id for c in reversed(completed)
    ]
    # When bounded to [10:20, 10:40): createdFrom inclusive, createdTo exclusive
    window = every_page({"createdFrom": "2026-11-22T10:20:00Z", "createdTo": "2026-11-22T10:40:00Z", "limit": "3"})
    assert {i["checkoutId"] for i in window} >= {completed[1].checkout_id, failed.checkout_id}
    assert completed[2].checkout_id not in {i["checkoutId"] for i in window}
    assert all("2026-11-22T10:20:00.000Z" <= i["createdAt"] < "2026-11-22T10:40:00.000Z" for i in window)
    assert len(window) == 6  # 10:20 and 10:30, plus the queued ones at 10:21, 10:26, 10:31, 10:36


def test_a_status_change_shows_in_the_listing(commerce_table: str) -> None:
    # Given a queued checkout, When its workflow moves it on
    record = checkout(commerce_table, T0)
    moved = record.moved_to(CheckoutStatus.PROCESSING, T0 + timedelta(seconds=2))
    DynamoDbCheckouts(commerce_table).replace(moved, expected_version=record.version)
    # Then the listing shows the new status, and the old status no longer lists it
    assert [i["status"] for i in every_page({})] == ["PROCESSING"]
    assert every_page({"status": "QUEUED"}) == []


@pytest.mark.parametrize(
    "query",
    [
        {"status": "SHIPPED"},
        {"createdFrom": "2026-11-22T10:00:00"},  # no offset
        {"createdFrom": "2026-11-22T11:00:00Z", "createdTo": "2026-11-22T10:00:00Z"},
        {"limit": "0"},
        {"limit": "101"},
        {"sort": "asc"},
        {"cursor": "garbage"},
    ],
)
def test_bad_queries_are_400(commerce_table: str, query: dict[str, str]) -> None:
    problem(list_checkouts(query), 400, "VALIDATION_ERROR")


def test_a_cursor_belongs_to_its_filters(commerce_table: str) -> None:
    # Given a cursor of the COMPLETED listing, When it is used on the FAILED listing, Then 400
    for i in range(3):
        checkout(commerce_table, T0 + timedelta(minutes=i), CheckoutStatus.COMPLETED)
    cursor = answer(list_checkouts({"status": "COMPLETED", "limit": "1"}))["nextCursor"]
    assert cursor
    problem(list_checkouts({"status": "FAILED", "cursor": cursor}), 400, "VALIDATION_ERROR")


def test_customers_cannot_list_checkouts(commerce_table: str) -> None:
    checkout(commerce_table, T0)
    body = problem(list_checkouts({}, claims=CUSTOMER), 403, "FORBIDDEN")
    assert "items" not in body


# ---------------------------------------------------------------------- queues
@pytest.fixture
def queues(commerce_table: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    sqs = boto3.client("sqs")
    dead = sqs.create_queue(QueueName=DEAD_LETTERS)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive_policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})
    queue = sqs.create_queue(QueueName=QUEUE, Attributes={"RedrivePolicy": redrive_policy})["QueueUrl"]
    monkeypatch.setenv("QUEUES", json.dumps({"checkout": {"url": queue, "deadLetterUrl": dead}}))
    return queue, dead


def depth(url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_queues_show_depth_and_dead_letters(queues: tuple[str, str]) -> None:
    queue, dead = queues
    sqs = boto3.client("sqs")
    # Given 2 messages waiting, 1 received (in flight) and 3 dead letters
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1, VisibilityTimeout=300)
    for i in range(3):
        sqs.send_message(QueueUrl=dead, MessageBody=f"dead-{i}")
    # When an operator lists the queues
    body = answer(call("admin_list_queues", http_event("admin_list_queues")))
    # Then the checkout queue shows them
    conforms(body, "QueueList")
    assert body == {
        "items": [
            {"name": "checkout", "depth": 2, "inFlight": 1, "delayed": 0, "deadLetterDepth": 3, "deadLetterInFlight": 0}
        ],
        "nextCursor": None,
    }


def test_redrive_moves_dead_letters_back_once(queues: tuple[str, str]) -> None:
    queue, dead = queues
    sqs = boto3.client("sqs")
    # Given 23 dead letters with attributes
    for i in range(23):
        sqs.send_message(
            QueueUrl=dead,
            MessageBody=json.dumps({"checkoutId": f"c-{i}"}),
            MessageAttributes={"attempt": {"DataType": "Number", "StringValue": str(i)}},
        )
    # When an operator redrives the checkout queue
    first = answer(call("redrive_queue", http_event("redrive_queue", raw_body="")))
    # Then all moved back, bodies and attributes intact; a second redrive moves nothing
    assert first == {"moved": 23}
    assert (depth(queue), depth(dead)) == (23, 0)
    moved: list[Any] = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages"
    ):
        moved += batch
    assert sorted(json.loads(m["Body"])["checkoutId"] for m in moved) == sorted(f"c-{i}" for i in range(23))
    assert all(m["MessageAttributes"]["attempt"]["DataType"] == "Number" for m in moved)
    assert answer(call("redrive_queue", http_event("redrive_queue", raw_body=""))) == {"moved": 0}


@pytest.mark.parametrize("raw_body", ['{"maxMessages": 5}', "{}", "{", "all"])
def test_a_redrive_with_a_body_is_400_and_moves_nothing(queues: tuple[str, str], raw_body: str) -> None:
    _, dead = queues
    boto3.client("sqs").send_message(QueueUrl=dead, MessageBody="x")
    problem(call("redrive_queue", http_event("redrive_queue", raw_body=raw_body)), 400, "VALIDATION_ERROR")
    assert depth(dead) == 1


def test_an_unknown_queue_is_404(queues: tuple[str, str]) -> None:
    event = http_event("redrive_queue", raw_body="", path_parameters={"queueName": "orders"})
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/admin/queues/orders/redrive"
    problem(call("redrive_queue", event), 404, "NOT_FOUND")


def test_customers_cannot_see_or_redrive_queues(queues: tuple[str, str]) -> None:
    _, dead = queues
    boto3.client("sqs").send_message(QueueUrl=dead, MessageBody="x")
    problem(call("admin_list_queues", http_event("admin_list_queues", claims=CUSTOMER)), 403, "FORBIDDEN")
    problem(call("redrive_queue", http_event("redrive_queue", raw_body="", claims=CUSTOMER)), 403, "FORBIDDEN")
    assert depth(dead) == 1


# ---------------------------------------------------------------------- upkeep
def test_upkeep_runs_are_listed_newest_first_per_job(commerce_table: str) -> None:
    # Given runs of two jobs
    runs = DynamoDbUpkeepRuns(commerce_table)
    for minute in range(0, 30, 5):
        at = T0 + timedelta(minutes=minute)
        runs.record(UpkeepRun("release-expired-reservations", at, at + timedelta(seconds=1), minute, {"x": 1}, 0))
    runs.record(UpkeepRun("reconcile-payments", T0, T0 + timedelta(seconds=3), 7, {"refunded": 2}, 1))
    # When an operator asks for the last 5 runs of each
    body = answer(call("admin_get_upkeep", http_event("admin_get_upkeep")))
    # Then each job comes with its newest runs first
    conforms(body, "UpkeepReport")
    assert [job["job"] for job in body["jobs"]] == ["reconcile-payments", "release-expired-reservations"]
    releases = body["jobs"][1]["runs"]
    assert [run["examined"] for run in releases] == [25, 20, 15, 10, 5]
    assert body["jobs"][0]["runs"][0] | {"runId": "-"} == {
        "runId": "-",
        "startedAt": "2026-11-22T10:00:00.000Z",
        "endedAt": "2026-11-22T10:00:03.000Z",
        "examined": 7,
        "repaired": {"refunded": 2},
        "failed": 1,
        "mismatches": {},
    }


def test_the_reservation_upkeep_records_its_runs(commerce_table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a checkout that stayed QUEUED past its reservation, its stock reserved, and no workflow
    monkeypatch.setenv("CHECKOUT_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:checkout")
    monkeypatch.setenv("RESERVATION_UPKEEP_MAX_PER_RUN", "50")
    sku = {
        **sku_key("CUP-1"),
        "productId": "p-cup",
        "productName": "Cup",
        "variantName": "White",
        "price": {"amount": 1200, "currency": "EUR"},
        "onHand": 5,
        "reserved": 0,
        "available": 5,
        "retired": False,
    }
    dynamodb_client().put_item(TableName=commerce_table, Item=to_attrs(sku))
    abandoned = checkout(commerce_table, datetime.now(UTC) - timedelta(hours=2))
    DynamoDbStockLedger(commerce_table).reserve(
        abandoned.checkout_id, [ReservationLine("CUP-1", 1)], abandoned.reservation_expires_at
    )
    # When the upkeep runs
    result = call("release_expired_reservations", load_event("release_expired_reservations"))
    # Then it released it, and GET /admin/upkeep shows the run and its repair
    assert result["released"] == 1
    (job,) = answer(call("admin_get_upkeep", http_event("admin_get_upkeep")))["jobs"]
    assert job["job"] == "release-expired-reservations"
    # (every kind of repair the job makes is listed, 0 when it made none of that kind)
    repaired = {
        "reservationsReleased": 1,
        "orphanedReservationsReleased": 0,
        "finalCheckoutReservationsReleased": 0,
        "stockReservedCorrected": 0,
    }
    assert [(r["examined"], r["repaired"], r["failed"]) for r in job["runs"]] == [(1, repaired, 0)]
    # (and the stock audit's mismatches by kind: the SKU has no product, so no page of the catalog names it)
    assert job["runs"][0]["mismatches"] == {"reservedAboveHeld": 0, "reservedBelowHeld": 0, "countersInvalid": 0}


@pytest.mark.parametrize("query", [{"runs": "0"}, {"runs": "101"}, {"runs": "many"}, {"job": "x"}])
def test_bad_upkeep_queries_are_400(commerce_table: str, query: dict[str, str]) -> None:
    problem(call("admin_get_upkeep", http_event("admin_get_upkeep", query=query)), 400, "VALIDATION_ERROR")


def test_customers_cannot_see_upkeep(commerce_table: str) -> None:
    problem(call("admin_get_upkeep", http_event("admin_get_upkeep", claims=CUSTOMER)), 403, "FORBIDDEN")
