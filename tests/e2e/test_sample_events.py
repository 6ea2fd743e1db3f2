"""The samples in events/ against `make run`: `python -m devcloud invoke <Function> --event events/<op>.json`
answers 2xx, because the demo data holds the ids and tokens they name (devcloud/demo_data.py and
devcloud/sample_checkout.py) and invoke signs the webhook sample.

They run in one fixed order, as a developer trying them would: the cart is filled before it is checked out,
the sample checkout is read before it is cancelled. Each sample is in exactly one of the lists below, so a
new sample must be placed in the order (or explained) before this passes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devcloud.__main__ import main as devcloud_main
from tests.support.local_cloud import RunningCloud, log_of, run_local_cloud, state_directory
from tests.support.template import ROOT, load_template
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

EVENTS = ROOT / "events"

IN_ORDER = (
    "health",
    "create_session",
    "list_products",
    "get_product",
    "admin_list_products",
    "get_inventory",
    "set_inventory",
    "replace_product",
    "add_cart_line",
    "get_cart",
    "set_cart_line",
    "create_checkout",  # from the cart just filled
    "remove_cart_line",
    "list_orders",
    "get_checkout",  # the seeded queued checkout...
    "cancel_checkout",  # ...cancelled by its buyer...
    "admit_checkouts",  # ...so its late message is dropped, not a failure
    "admin_get_checkout",  # the seeded paying checkout: AWAITING_PAYMENT, paid at the provider...
    "request_payment",  # ...its RequestPayment step run again (a retry): nothing is left to do...
    "complete_checkout",  # ...its Complete step: the order PAID...
    "get_order",  # ...read by its buyer...
    "admin_get_order",  # ...and by an operator...
    "create_fulfillment",  # ...one of its two units shipped...
    "fulfill_order",  # ...then the other...
    "refund_order",  # ...then refunded
    "cancel_order",  # the seeded completed checkout's PAID order (one order cannot be fulfilled and cancelled)
    "admin_list_checkouts",
    "admin_list_orders",
    "admin_list_queues",
    "redrive_queue",
    "admin_get_upkeep",
    "payment_webhook",  # signed by invoke; an event of an intent the demo data has no record of is acknowledged
    "reconcile_checkouts",
    "release_expired_reservations",
    "compensate_checkout",
    "migrate_orders_db",
    "deploy_console",
    "delete_session",  # last: the sample session is signed out, so the samples above no longer run after it
)

# What the samples of the seeded checkouts and orders answer, in the order above (the status in the body).
STATUS_AFTER = {
    "get_checkout": "QUEUED",
    "cancel_checkout": "CANCELLED",
    "admin_get_checkout": "AWAITING_PAYMENT",
    "request_payment": "AWAITING_PAYMENT",
    "complete_checkout": "COMPLETED",
    "get_order": "PAID",
    "admin_get_order": "PAID",
    "create_fulfillment": "PARTIALLY_FULFILLED",
    "fulfill_order": "FULFILLED",
    "refund_order": "REFUNDED",
    "cancel_order": "CANCELLED",
}

# Refused by design: the sample product is in the demo data (get/replace/inventory samples need it), so creating
# it again is the conflict the API answers for a taken SKU; the $default sample is a method no route of its path
# takes.
REFUSED = {"create_product": (409, "SKU_EXISTS"), "no_route": (405, "METHOD_NOT_ALLOWED")}


@pytest.fixture(scope="module")
def samples_cloud() -> Iterator[RunningCloud]:
    """A cloud of their own: the samples change the demo data (they cancel, replace, restock)."""
    yield from run_local_cloud()


def function_of(sample: str) -> str:
    for logical_id, resource in load_template()["Resources"].items():
        code_uri = str((resource.get("Properties") or {}).get("CodeUri", "")).rstrip("/")
        if resource.get("Type") == "AWS::Serverless::Function" and code_uri == f"functions/{sample}":
            return str(logical_id)
    raise LookupError(sample)


def invoke(cloud: RunningCloud, sample: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, object]:
    capsys.readouterr()
    args = [
        "--state-dir",
        str(cloud.state_dir),
        "invoke",
        function_of(sample),
        "--event",
        str(EVENTS / f"{sample}.json"),
    ]
    exit_code = devcloud_main(args)
    return exit_code, json.loads(capsys.readouterr().out)


def test_every_sample_is_placed() -> None:
    samples = {path.stem for path in Path(EVENTS).glob("*.json")}
    placed = [*IN_ORDER, *REFUSED]
    assert len(placed) == len(set(placed))
    assert set(placed) == samples


def test_the_samples_answer_2xx_in_order(samples_cloud: RunningCloud, capsys: pytest.CaptureFixture[str]) -> None:
    answers, statuses = {}, {}
    for sample in IN_ORDER:
        exit_code, result = invoke(samples_cloud, sample, capsys)
        status = result.get("statusCode", 200) if isinstance(result, dict) else 200
        answers[sample] = (exit_code, status)
        if isinstance(result, dict) and "batchItemFailures" in result:
            assert result["batchItemFailures"] == [], sample
        if sample in STATUS_AFTER and isinstance(result, dict):
            statuses[sample] = json.loads(result["body"])["status"] if "body" in result else result.get("status")
    assert {s: a for s, a in answers.items() if a[0] != 0 or not 200 <= a[1] < 300} == {}
    # And each did what its place in the order says: the seeded checkouts were where the samples pick them up.
    assert statuses == STATUS_AFTER


def test_the_refused_samples_answer_their_problem(
    samples_cloud: RunningCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    for sample, (status, code) in REFUSED.items():
        exit_code, result = invoke(samples_cloud, sample, capsys)
        assert isinstance(result, dict)
        assert (exit_code, result["statusCode"], json.loads(result["body"])["code"]) == (0, status, code)


@contextmanager
def started(state_dir: Path) -> Iterator[RunningCloud]:
    yield from run_local_cloud(state_dir=state_dir)


def test_a_restart_seeds_again_what_it_can_and_names_the_orders_it_cannot(capsys: pytest.CaptureFixture[str]) -> None:
    """The local DynamoDB starts empty at each start, the orders database is kept: an order the samples moved
    on cannot be where its samples start, so its checkout is left out and the banner says so."""
    with state_directory() as state_dir:
        # Given a local cloud whose paying order was fulfilled and whose paid order was cancelled by the samples
        with started(state_dir) as cloud:
            for sample in ("complete_checkout", "fulfill_order", "cancel_order"):
                assert invoke(cloud, sample, capsys)[0] == 0, sample
        # When it starts again on the same state directory
        with started(state_dir) as cloud:
            banner = wait_until(
                lambda: "Local cloud is up" in (text := log_of(state_dir).read_text()) and text, "the banner"
            )
            # Then the moved orders are named, their checkouts are not placed, and the queued one is again
            assert "Sample order   3f6c2a9e-7b1d-4c5e-9a8f-1e2d3c4b5a69 is FULFILLED" in banner
            assert "Sample order   6a2e8c4f-1d3b-4e5a-9c7f-2b1d0e3c4a58 is CANCELLED" in banner
            assert invoke(cloud, "admin_get_checkout", capsys)[1]["statusCode"] == 404  # type: ignore[index]
            assert invoke(cloud, "get_checkout", capsys)[1]["statusCode"] == 200  # type: ignore[index]
