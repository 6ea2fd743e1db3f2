"""GET /admin/checkouts/{checkoutId}: any checkout with its workflow execution (moto's Step Functions), in the
contract's shape; `execution` null before the workflow starts; 404 for no such checkout; operators only."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.support.checkout_saga import STATE_MACHINE_ARN, Answer, Payments
from tests.support.template import ROOT

pytestmark = pytest.mark.integration


@pytest.fixture
def payments(payments: Payments) -> Payments:
    """The shared harness (tests/integration/conftest.py) plus the state machine the functions name."""
    stepfunctions = boto3.client("stepfunctions", region_name="us-east-1")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    created = stepfunctions.create_state_machine(
        name=STATE_MACHINE_ARN.rsplit(":", 1)[1],
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/checkout",
    )
    assert created["stateMachineArn"] == STATE_MACHINE_ARN
    return payments


@cache
def openapi_components() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "openapi.yaml").read_text())["components"])


def conforms(body: Any, schema: str) -> None:
    validator = Draft202012Validator({"$ref": f"#/components/schemas/{schema}", "components": openapi_components()})
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert errors == [], errors


def get(payments: Payments, checkout_id: str, claims: dict[str, Any] | None = None) -> Answer:
    return payments.operator("admin_get_checkout", {"checkoutId": checkout_id}, claims=claims)


def test_a_queued_checkout_has_no_execution_yet(payments: Payments) -> None:
    # Given a checkout whose workflow has not started
    checkout = payments.checkout((payments.sku(), 1))
    # When an operator reads it, Then it comes in the contract's shape with `execution` null
    answer = get(payments, checkout.checkout_id)
    assert answer.status == 200, answer.body
    conforms(answer.body, "AdminCheckout")
    assert (answer.body["checkoutId"], answer.body["status"], answer.body["execution"]) == (
        checkout.checkout_id,
        "QUEUED",
        None,
    )


def test_a_started_checkout_shows_its_execution_and_steps(payments: Payments) -> None:
    # Given a checkout awaiting payment whose execution (named after it) has started
    checkout = payments.checkout((payments.sku(), 1))
    payments.request_payment(checkout.checkout_id)
    boto3.client("stepfunctions", region_name="us-east-1").start_execution(
        stateMachineArn=STATE_MACHINE_ARN, name=checkout.checkout_id, input=json.dumps({"checkoutId": "x"})
    )
    # When an operator reads it
    answer = get(payments, checkout.checkout_id)
    # Then the checkout shows its payment, and its execution with the steps Step Functions recorded
    assert answer.status == 200, answer.body
    conforms(answer.body, "AdminCheckout")
    assert answer.body["status"] == "AWAITING_PAYMENT"
    assert answer.body["payment"]["intentId"].startswith("pi_")
    # And not the payment's client secret, which lets whoever holds it pay (the buyer's alone)
    assert "clientSecret" not in answer.body["payment"]
    assert payments.stored(checkout.checkout_id).payment.client_secret not in json.dumps(answer.body)  # type: ignore[union-attr]
    execution = answer.body["execution"]
    assert execution["name"] == checkout.checkout_id
    assert execution["status"] in {"RUNNING", "SUCCEEDED"}
    assert execution["steps"], execution
    assert all(step["name"] and step["startedAt"] for step in execution["steps"])


@pytest.mark.parametrize("checkout_id", ["00000000-0000-5000-8000-000000000000", "x" * 200])
def test_an_unknown_checkout_is_404(payments: Payments, checkout_id: str) -> None:
    answer = get(payments, checkout_id)
    assert (answer.status, answer.code) == (404, "NOT_FOUND")


def test_only_operators_read_checkouts(payments: Payments) -> None:
    # Given a checkout, When a customer asks for it on the admin route, Then 403 without its data
    checkout = payments.checkout((payments.sku(), 1))
    answer = get(payments, checkout.checkout_id, claims={"sub": "c-1", "cognito:groups": "[customers]"})
    assert (answer.status, answer.code) == (403, "FORBIDDEN")
    assert "checkoutId" not in answer.body
