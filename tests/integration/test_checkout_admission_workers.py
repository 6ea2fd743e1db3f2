"""The admission consumer (SQS -> StartExecution) and the upkeep job (expired, never-started checkouts) against
moto: the commerce table from template.yaml, a state machine standing in for CheckoutStateMachine, the events/
samples as Lambda delivers them."""

from __future__ import annotations

import copy
import json
import sys
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.domain.checkout.models import Checkout, CheckoutStatus, FailureCode, checkout_id_for
from commerce.domain.inventory.models import ReservationLine, ReservationStatus
from commerce.domain.inventory.service import reserve_stock
from commerce.domain.money import Money
from commerce.domain.orders.models import OrderLine, OrderOwner, ShippingAddress, order_clock
from tests.support.carts import Storefront, configure
from tests.support.handlers import load_handler
from tests.support.lambda_events import FakeLambdaContext, load_event
from tests.support.template import resource

pytestmark = pytest.mark.integration

SKU = "CUP-WHITE"
# Stands in for the saga's state machine (another engineer's): admission only names it and starts it.
DEFINITION = {"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}
# The stock audit that ends every upkeep run: these tests seed SKU items without products, so no page names them.
NO_AUDIT = {"skusAudited": 0, "stockMismatches": 0, "stockCorrected": 0}


@pytest.fixture
def state_machine(commerce_table: str) -> str:
    arn = boto3.client("stepfunctions").create_state_machine(
        name="checkout-test", definition=json.dumps(DEFINITION), roleArn="arn:aws:iam::123456789012:role/checkout"
    )["stateMachineArn"]
    return str(arn)


def executions(state_machine: str) -> dict[str, str]:
    """Execution name -> its input."""
    sfn = boto3.client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=state_machine)["executions"]
    return {e["name"]: sfn.describe_execution(executionArn=e["executionArn"])["input"] for e in listed}


def sqs_event(*bodies: str) -> dict[str, Any]:
    """The events/ sample with one record per body (message ids 0, 1, ...)."""
    sample = load_event("admit_checkouts")
    template = sample["Records"][0]
    records = []
    for index, body in enumerate(bodies):
        record = copy.deepcopy(template)
        record["messageId"] = f"message-{index}"
        record["body"] = body
        records.append(record)
    return {"Records": records}


def message(checkout_id: str) -> str:
    return json.dumps({"checkoutId": checkout_id})


def ids(n: int) -> list[str]:
    return [checkout_id_for("SESSION#s1", f"key-{i}") for i in range(n)]


# ---------------------------------------------------------------------------------------------- admission


@pytest.fixture
def admit(state_machine: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    env = {"CHECKOUT_STATE_MACHINE_ARN": state_machine, "PAYMENT_TIMEOUT_SECONDS": "900"}
    assert set(resource("AdmitCheckoutsFunction")["Properties"]["Environment"]["Variables"]) == set(env)
    configure(monkeypatch, **env)
    return load_handler("admit_checkouts", fresh=True)


def test_the_sample_event_starts_one_execution_per_checkout(admit: Any, state_machine: str) -> None:
    # Given the sample batch of two queued checkouts
    event = load_event("admit_checkouts")
    # When the consumer runs, Then nothing fails and each checkout has its execution, named after it, whose
    # input also carries the payment timeout (the state machine's payment task reads it from there)
    assert admit(event, FakeLambdaContext()) == {"batchItemFailures": []}
    expected = {json.loads(r["body"])["checkoutId"]: r["body"] for r in event["Records"]}
    assert {name: json.loads(given) for name, given in executions(state_machine).items()} == {
        name: {**json.loads(body), "paymentTimeoutSeconds": 900} for name, body in expected.items()
    }


def test_duplicates_and_existing_executions_count_as_admitted(admit: Any, state_machine: str) -> None:
    # Given a checkout whose execution already exists (started with another input, so that Step Functions
    # answers ExecutionAlreadyExists), and a batch that holds its message plus a message delivered twice
    existing, new = ids(2)
    boto3.client("stepfunctions").start_execution(stateMachineArn=state_machine, name=existing, input="{}")
    # When the consumer runs
    response = admit(sqs_event(message(existing), message(new), message(new)), FakeLambdaContext())
    # Then no message fails and there is exactly one execution per checkout
    assert response == {"batchItemFailures": []}
    assert sorted(executions(state_machine)) == sorted([existing, new])


def test_a_failed_start_fails_only_its_own_message(admit: Any, state_machine: str) -> None:
    # Given a batch of four: a good message, one naming no checkout, one whose start is throttled, a good one
    good, throttled, other = ids(3)
    module = sys.modules["functions.admit_checkouts.app"]
    start = module.workflow.start

    def start_unless_throttled(checkout_id: str) -> bool:
        if checkout_id == throttled:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "StartExecution")
        return bool(start(checkout_id))

    module.workflow.start = start_unless_throttled
    event = sqs_event(message(good), '{"id": "nothing"}', message(throttled), message(other))
    # When the consumer runs
    response = admit(event, FakeLambdaContext())
    # Then exactly the two bad messages are reported, and the others' executions started
    assert response == {"batchItemFailures": [{"itemIdentifier": "message-1"}, {"itemIdentifier": "message-2"}]}
    assert sorted(executions(state_machine)) == sorted([good, other])


def test_a_batch_whose_every_start_fails_is_reported_message_by_message(
    admit: Any, monkeypatch: pytest.MonkeyPatch, commerce_table: str
) -> None:
    # Given a consumer pointed at a state machine that does not exist (every start fails)
    configure(monkeypatch, CHECKOUT_STATE_MACHINE_ARN="arn:aws:states:us-east-1:123456789012:stateMachine:gone")
    broken = load_handler("admit_checkouts", fresh=True)
    a, b = ids(2)
    # When it runs, Then it answers (no exception fails the batch) and lists every message
    response = broken(sqs_event(message(a), message(b)), FakeLambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "message-0"}, {"itemIdentifier": "message-1"}]}


# ---------------------------------------------------------------------------------------------- upkeep


class Checkouts:
    """Checkouts with their reservations, written through the real adapters, as placing writes them."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.repository = DynamoDbCheckouts(table)
        self.ledger = DynamoDbStockLedger(table)
        Storefront(table).seed_sku(SKU, amount=1200, available=1000)

    def add(self, key: str, *, expires_in: timedelta, status: CheckoutStatus = CheckoutStatus.QUEUED) -> str:
        # Each from its own session: a cart has one open checkout at a time.
        checkout_id = checkout_id_for(f"SESSION#s-{key}", key)
        now = order_clock()
        reserve_stock(self.ledger, checkout_id, [ReservationLine(SKU, 2)], now + expires_in)
        self.repository.create(
            Checkout(
                checkout_id=checkout_id,
                order_id="3f6c2a9e-7b1d-4c5e-9a8f-1e2d3c4b5a69",
                owner=OrderOwner(session_id=f"s-{key}"),
                status=status,
                email="ada@example.com",
                shipping_address=ShippingAddress("Ada", "1 Main St", "Paris", "75001", "FR"),
                lines=(OrderLine(SKU, "p1", "Cup (White)", 2, Money(1200, "EUR")),),
                total=Money(2400, "EUR"),
                reservation_expires_at=now + expires_in,
                created_at=now - timedelta(minutes=30),
                updated_at=now - timedelta(minutes=30),
            )
        )
        return checkout_id

    def reserved(self) -> int:
        stock = self.ledger.get(SKU)
        assert stock is not None
        return stock.reserved

    def reservation(self, checkout_id: str) -> ReservationStatus:
        reservation = self.ledger.get_reservation(checkout_id)
        assert reservation is not None
        return reservation.status

    def item(self, checkout_id: str) -> dict[str, Any]:
        response = boto3.client("dynamodb").get_item(
            TableName=self.table, Key={"PK": {"S": f"CHECKOUT#{checkout_id}"}, "SK": {"S": "CHECKOUT"}}
        )
        return dict(response["Item"])


@pytest.fixture
def upkeep(state_machine: str, commerce_table: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    env = {"CHECKOUT_STATE_MACHINE_ARN": state_machine, "RESERVATION_UPKEEP_MAX_PER_RUN": "16"}
    assert set(resource("ReleaseExpiredReservationsFunction")["Properties"]["Environment"]["Variables"]) == set(env)
    configure(monkeypatch, **env)
    handler = load_handler("release_expired_reservations", fresh=True)
    return lambda: handler(load_event("release_expired_reservations"), FakeLambdaContext())


def test_upkeep_releases_an_expired_never_started_checkout_exactly_once(
    upkeep: Any, commerce_table: str, state_machine: str
) -> None:
    # Given an expired checkout that never started, an expired one whose execution is running, one the
    # workflow already moved on, and one still within its reservation
    shop = Checkouts(commerce_table)
    abandoned = shop.add("abandoned", expires_in=-timedelta(minutes=1))
    started = shop.add("started", expires_in=-timedelta(minutes=2))
    boto3.client("stepfunctions").start_execution(stateMachineArn=state_machine, name=started, input=message(started))
    processing = shop.add("processing", expires_in=-timedelta(minutes=3), status=CheckoutStatus.PROCESSING)
    fresh = shop.add("fresh", expires_in=timedelta(minutes=10))
    assert shop.reserved() == 8
    # When the upkeep runs
    report = upkeep()
    # Then only the abandoned checkout is expired and its two units given back
    assert report == {
        "released": 1,
        "left": 1,
        "failed": 0,
        "holdsReleased": 0,
        "holdsLeft": 2,
        "holdsFailed": 0,
        **NO_AUDIT,
    }
    assert shop.reserved() == 6
    expired = shop.repository.get(abandoned)
    assert expired is not None
    assert expired.status is CheckoutStatus.EXPIRED
    assert expired.failure is not None
    assert expired.failure.code is FailureCode.PAYMENT_TIMEOUT
    assert shop.reservation(abandoned) is ReservationStatus.RELEASED
    assert "GSI1PK" not in shop.item(abandoned)  # it left the index of queued checkouts
    for kept in (started, processing, fresh):
        assert shop.reservation(kept) is ReservationStatus.RESERVED
    # When it runs again, Then nothing more is released
    assert upkeep() == {
        "released": 0,
        "left": 1,
        "failed": 0,
        "holdsReleased": 0,
        "holdsLeft": 2,
        "holdsFailed": 0,
        **NO_AUDIT,
    }
    assert shop.reserved() == 6


def test_upkeep_does_a_bounded_amount_per_run_and_finishes_over_runs(upkeep: Any, commerce_table: str) -> None:
    # Given 40 abandoned checkouts and room for 16 per run
    shop = Checkouts(commerce_table)
    for i in range(40):
        shop.add(f"k{i}", expires_in=-timedelta(minutes=1 + i))
    # When the upkeep runs until nothing is left
    released_per_run = []
    while (released := upkeep()["released"]) > 0:
        released_per_run.append(released)
    # Then no run did more than its bound, and all 80 units came back
    assert max(released_per_run) <= 16
    assert sum(released_per_run) == 40
    assert len(released_per_run) >= 3
    assert shop.reserved() == 0


def test_upkeep_leaves_alone_what_is_not_yet_expired(upkeep: Any, commerce_table: str) -> None:
    # Given checkouts whose reservations expire in a minute
    shop = Checkouts(commerce_table)
    for i in range(3):
        shop.add(f"soon-{i}", expires_in=timedelta(minutes=1))
    # When the upkeep runs, Then it finds nothing to do
    assert upkeep() == {
        "released": 0,
        "left": 0,
        "failed": 0,
        "holdsReleased": 0,
        "holdsLeft": 0,
        "holdsFailed": 0,
        **NO_AUDIT,
    }
    assert shop.reserved() == 6
