"""An execution aborted while its checkout awaits payment, reproduced against moto, the embedded orders
database and the Stripe sandbox: the customer pays, the webhook finds no task, nothing compensates. The
reconciliation upkeep (invoked as Lambda runs it, past the checkout's deadline) refunds the payment once,
gives the stock back, cancels the order and closes the checkout; a running execution is left alone.

The harness (`Payments`) is tests/support/checkout_saga.py's, fixtures in tests/integration/conftest.py.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Any

import boto3
import pytest

from commerce.domain.checkout.models import CheckoutStatus
from commerce.domain.orders.models import OrderStatus, order_clock
from commerce.domain.payments.models import PaymentOutcome
from localcloud.payments import FaultSpec
from tests.support.checkout_saga import Payments
from tests.support.handlers import load_handler
from tests.support.lambda_events import FakeLambdaContext, load_event
from tests.support.template import resource

pytestmark = pytest.mark.integration

# What a run that repaired nothing answers.
NOTHING = {
    "abandonedCheckoutsClosed": 0,
    "abandonedCheckoutsRefunded": 0,
    "strandedCheckoutsFinished": 0,
    "refundsFinished": 0,
    "refundsRejected": 0,
    "closedIntentsCancelled": 0,
    "closedIntentsRefunded": 0,
    "left": 0,
    "failed": 0,
}
WAITS = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}


@pytest.fixture
def reconcile(payments: Payments, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The upkeep function, running two hours from now (past every reservation the harness makes)."""
    variables = resource("ReconcileCheckoutsFunction")["Properties"]["Environment"]["Variables"]
    assert "RESERVATION_UPKEEP_MAX_PER_RUN" in variables
    monkeypatch.setenv("RESERVATION_UPKEEP_MAX_PER_RUN", "16")
    assert "PAYMENT_TIMEOUT_SECONDS" in variables
    monkeypatch.setenv("PAYMENT_TIMEOUT_SECONDS", "900")
    load_handler("reconcile_checkouts", fresh=True)
    app = sys.modules["functions.reconcile_checkouts.app"]
    later = order_clock() + timedelta(hours=2)
    monkeypatch.setattr(app, "order_clock", lambda: later)
    return lambda: app.lambda_handler(load_event("reconcile_checkouts"), FakeLambdaContext())


@pytest.fixture
def state_machine(payments: Payments) -> str:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn = sfn.create_state_machine(
        name="checkout-test", definition=json.dumps(WAITS), roleArn="arn:aws:iam::123456789012:role/checkout"
    )["stateMachineArn"]
    return str(arn)


def test_a_paid_checkout_whose_execution_was_aborted_is_refunded_once_and_closed(
    payments: Payments, reconcile: Any, state_machine: str
) -> None:
    # Given a checkout awaiting payment whose execution an operator aborts
    cup = payments.sku(on_hand=10)
    checkout = payments.checkout((cup, 2))
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    execution = sfn.start_execution(stateMachineArn=state_machine, name=checkout.checkout_id, input="{}")
    payments.request_payment(checkout.checkout_id)
    sfn.stop_execution(executionArn=execution["executionArn"])
    # And the customer pays anyway; the webhook finds no task waiting (nothing will complete or compensate)
    assert payments.pay(checkout.checkout_id).status_code == 200
    intent_id = payments.stored(checkout.checkout_id).payment.intent_id  # type: ignore[union-attr]
    [delivery] = payments.deliveries(intent_id, 1)
    assert payments.deliver(delivery).status == 200
    assert payments.stored(checkout.checkout_id).status is CheckoutStatus.AWAITING_PAYMENT
    assert payments.stock(cup).reserved == 2
    # When the reconciliation runs past the checkout's deadline
    report = reconcile()
    # Then the payment went back once, the stock is free, the order cancelled and the checkout EXPIRED
    assert report == {**NOTHING, "abandonedCheckoutsRefunded": 1}
    assert payments.refunds_of(intent_id) == 2400  # the whole payment, refunded once
    assert (payments.stock(cup).on_hand, payments.stock(cup).reserved) == (10, 0)
    assert payments.order_status(checkout.order_id) is OrderStatus.CANCELLED
    assert payments.stored(checkout.checkout_id).status is CheckoutStatus.EXPIRED
    # And a second run changes nothing
    assert reconcile() == NOTHING
    assert payments.refunds_of(intent_id) == 2400  # the whole payment, refunded once


def test_a_checkout_whose_execution_still_runs_is_left_to_its_saga(
    payments: Payments, reconcile: Any, state_machine: str
) -> None:
    # Given a checkout awaiting payment whose execution is still running
    cup = payments.sku(on_hand=10)
    checkout = payments.checkout((cup, 2))
    boto3.client("stepfunctions", region_name="us-east-1").start_execution(
        stateMachineArn=state_machine, name=checkout.checkout_id, input="{}"
    )
    payments.request_payment(checkout.checkout_id)
    # When the reconciliation runs, Then it leaves the checkout, its payment and its stock as they are
    assert reconcile() == {**NOTHING, "left": 2}  # left by the held-reservation pass and by the walk
    assert payments.stored(checkout.checkout_id).status is CheckoutStatus.AWAITING_PAYMENT
    assert payments.stock(cup).reserved == 2


class Killed(BaseException):
    """The function's process dying between two writes: no `except Exception` cleanup runs."""


def test_a_compensation_killed_between_the_release_and_the_status_write_is_finished_once(
    payments: Payments, reconcile: Any, state_machine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a checkout awaiting payment whose execution ended, and whose Compensate released the stock and was
    # killed before writing the checkout's status (Step Functions then gave up retrying it)
    cup = payments.sku(on_hand=10)
    checkout = payments.checkout((cup, 2))
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    execution = sfn.start_execution(stateMachineArn=state_machine, name=checkout.checkout_id, input="{}")
    payments.request_payment(checkout.checkout_id)
    sfn.stop_execution(executionArn=execution["executionArn"])
    compensate = sys.modules["functions.compensate_checkout.app"]

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise Killed()

    with monkeypatch.context() as patch:
        patch.setattr(compensate.checkouts, "replace", killed)
        with pytest.raises(Killed):
            payments.compensate(checkout.checkout_id, "States.Timeout")
    assert payments.stored(checkout.checkout_id).status is CheckoutStatus.AWAITING_PAYMENT
    assert payments.stock(cup).reserved == 0
    # When the reconciliation runs past the checkout's deadline
    report = reconcile()
    # Then the walk finishes it: EXPIRED, its order cancelled, its stock released once, its payment closed
    assert report == {**NOTHING, "strandedCheckoutsFinished": 1}
    assert payments.stored(checkout.checkout_id).status is CheckoutStatus.EXPIRED
    assert payments.order_status(checkout.order_id) is OrderStatus.CANCELLED
    assert (payments.stock(cup).on_hand, payments.stock(cup).reserved) == (10, 0)
    intent_id = payments.stored(checkout.checkout_id).payment.intent_id  # type: ignore[union-attr]
    record = payments.records.get(intent_id)
    assert record is not None
    assert record.outcome is PaymentOutcome.CLOSED
    # And a second run has nothing left to walk
    assert reconcile() == NOTHING


def test_a_compensation_whose_cancel_the_provider_refused_leaves_the_intent_for_the_upkeep_to_cancel_once(
    payments: Payments, reconcile: Any, state_machine: str
) -> None:
    # Given a checkout awaiting payment whose payment times out while the provider answers every cancel 503
    cup = payments.sku(on_hand=10)
    checkout = payments.checkout((cup, 2))
    payments.request_payment(checkout.checkout_id)
    intent_id = payments.stored(checkout.checkout_id).payment.intent_id  # type: ignore[union-attr]
    fault = payments.served.sandbox.faults.add(
        FaultSpec(kind="error", status=503, count=None, path=f"/v1/payment_intents/{intent_id}/cancel")
    )
    try:
        payments.compensate(checkout.checkout_id, "States.Timeout")
    finally:
        payments.served.sandbox.faults.remove(fault.id)
    # Then the checkout ended and its stock is back, but the intent is still payable and listed as awaiting
    assert payments.stored(checkout.checkout_id).status is CheckoutStatus.EXPIRED
    assert payments.stock(cup).reserved == 0
    assert payments.stripe.v1.payment_intents.retrieve(intent_id).status == "requires_payment_method"
    record = payments.records.get(intent_id)
    assert record is not None
    assert record.awaiting_cancel
    # When the reconciliation runs
    report = reconcile()
    # Then the intent is cancelled, and nobody can pay it any more
    assert report == {**NOTHING, "closedIntentsCancelled": 1}
    assert payments.stripe.v1.payment_intents.retrieve(intent_id).status == "canceled"
    assert payments.pay(checkout.checkout_id).status_code == 400
    record = payments.records.get(intent_id)
    assert record is not None
    assert not record.awaiting_cancel
    # And a second run has nothing left to cancel
    assert reconcile() == NOTHING


def test_an_intent_paid_before_its_late_cancel_is_refunded_once_by_the_upkeep(
    payments: Payments, reconcile: Any, state_machine: str
) -> None:
    # Given a checkout whose compensation could not cancel its intent (the provider down), then paid anyway
    cup = payments.sku(on_hand=10)
    checkout = payments.checkout((cup, 2))
    payments.request_payment(checkout.checkout_id)
    intent_id = payments.stored(checkout.checkout_id).payment.intent_id  # type: ignore[union-attr]
    fault = payments.served.sandbox.faults.add(
        FaultSpec(kind="error", status=503, count=None, path=f"/v1/payment_intents/{intent_id}/cancel")
    )
    try:
        payments.compensate(checkout.checkout_id, "States.Timeout")
    finally:
        payments.served.sandbox.faults.remove(fault.id)
    assert payments.pay(checkout.checkout_id).status_code == 200  # its webhook is not delivered (yet)
    # When the reconciliation runs twice
    report = reconcile()
    # Then the payment went back once, and the intent no longer awaits a cancel
    assert report == {**NOTHING, "closedIntentsRefunded": 1}
    assert payments.refunds_of(intent_id) == 2400
    assert reconcile() == NOTHING
    # And the webhook that arrives at last refunds nothing more
    [delivery] = payments.deliveries(intent_id, 1)
    assert payments.deliver(delivery).status == 200
    assert payments.refunds_of(intent_id) == 2400
