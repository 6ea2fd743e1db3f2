"""End-to-end checkout on the local cloud: latency, and what one order costs at AWS list prices.

For N orders, one after another, a storefront adds a product to a cart, `POST /checkouts`, waits for
`AWAITING_PAYMENT`, pays at the payments sandbox (`pm_card_visa`), and waits for `COMPLETED`. Latency is
from the checkout request to `COMPLETED` as the storefront sees it (polling every 20 ms).

Billable units per order come from the local cloud itself (`GET <edge>/_localcloud/usage`: AWS API calls
by operation, DynamoDB request units by items touched, Lambda invocations with duration and memory) and
from Step Functions' execution history (state transitions). They are priced with the table below into
dollars per 1,000 orders of variable cost on the happy path. Target: <= $0.12 per 1,000 orders.

Not counted: Aurora capacity (ACU-hours are a fixed cost of the hours the database is awake, not of an
order), CloudWatch Logs ingestion, the payment provider's fees, data transfer.

    python -m bench.checkout [--orders 50]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from contextlib import contextmanager
from typing import Any

import requests

from localcloud.template.cfn_yaml import load_template_file
from tests.support.local_cloud import ROOT, RunningCloud, run_local_cloud

# us-east-1 on-demand list prices, as published by AWS (dated 2026-11-22; check the pricing pages).
PRICES_DATED = "2026-11-22"
PRICE_PER_UNIT = {
    "http_api_requests": 1.00 / 1_000_000,  # API Gateway HTTP API, first 300 M requests/month
    "lambda_requests": 0.20 / 1_000_000,
    "lambda_gb_seconds": 0.0000133334,  # arm64
    "state_transitions": 0.025 / 1_000,  # Step Functions Standard
    "dynamodb_write_units": 0.625 / 1_000_000,  # on-demand
    "dynamodb_read_units": 0.125 / 1_000_000,
    "sqs_requests": 0.40 / 1_000_000,  # standard queue
    "data_api_requests": 0.35 / 1_000_000,  # RDS Data API, first 1 B requests/month
    "eventbridge_events": 1.00 / 1_000_000,  # custom events
    "secrets_manager_calls": 0.05 / 10_000,
}
TARGET_PER_1000 = 0.12


cloud_headers: dict[str, dict[str, str]] = {}  # checkout id -> the buyer's session header


def _status(api: str, checkout_id: str, headers: dict[str, str]) -> dict[str, Any]:
    return dict(requests.get(f"{api}/checkouts/{checkout_id}", headers=headers, timeout=30).json())


def _poll(
    api: str, checkout_id: str, headers: dict[str, str], until: set[str], timeout: float = 60
) -> tuple[dict[str, Any], int]:
    deadline = time.monotonic() + timeout
    polls = 0
    while True:
        checkout = _status(api, checkout_id, headers)
        polls += 1
        if checkout["status"] in until:
            return checkout, polls
        if time.monotonic() > deadline:
            raise RuntimeError(f"checkout {checkout_id} stuck in {checkout['status']}")
        time.sleep(0.02)


def _product(cloud: RunningCloud, units: int) -> str:
    api, operator = cloud.api_url, {"Authorization": f"Bearer {cloud.id_token('admin')}"}
    sku = f"BENCH-{uuid.uuid4().hex[:8].upper()}"
    body = {
        "name": f"Bench {sku}",
        "description": "bench",
        "category": "bench",
        "variants": [{"sku": sku, "name": "Only", "price": {"amount": 2500, "currency": "EUR"}}],
    }
    requests.post(f"{api}/admin/products", json=body, headers=operator, timeout=30).raise_for_status()
    requests.put(
        f"{api}/admin/inventory/{sku}", json={"onHand": units}, headers=operator, timeout=30
    ).raise_for_status()
    return sku


def _one_order(cloud: RunningCloud, sku: str) -> tuple[float, str, int]:
    api = cloud.api_url
    token = requests.post(f"{api}/sessions", timeout=30).json()["token"]
    headers = {"X-Session-Token": token}
    requests.post(f"{api}/cart/lines", json={"sku": sku, "quantity": 1}, headers=headers, timeout=30).raise_for_status()
    body = {
        "email": "bench@example.com",
        "shippingAddress": {
            "name": "Bench",
            "line1": "1 Main St",
            "city": "Paris",
            "postalCode": "75001",
            "country": "FR",
        },
    }
    started = time.perf_counter()
    accepted = requests.post(
        f"{api}/checkouts", json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex}, timeout=30
    )
    accepted.raise_for_status()
    checkout_id = accepted.json()["checkoutId"]
    cloud_headers[checkout_id] = headers
    awaiting, asked_polls = _poll(api, checkout_id, headers, {"AWAITING_PAYMENT", "FAILED", "EXPIRED"})
    payment = awaiting["payment"]
    requests.post(
        f"{cloud.outputs['PaymentsApiUrl']}/v1/payment_intents/{payment['intentId']}/confirm",
        data={"payment_method": "pm_card_visa", "client_secret": payment["clientSecret"]},
        timeout=30,
    ).raise_for_status()
    done, done_polls = _poll(api, checkout_id, headers, {"COMPLETED", "FAILED", "EXPIRED"})
    if done["status"] != "COMPLETED":
        raise RuntimeError(f"checkout {checkout_id} ended {done['status']}: {done.get('failure')}")
    return time.perf_counter() - started, checkout_id, asked_polls + done_polls


def _state_transitions(cloud: RunningCloud, checkout_ids: list[str]) -> int:
    sfn = cloud.client("stepfunctions")
    machine = next(m for m in sfn.list_state_machines()["stateMachines"] if "Checkout" in m["name"])
    arn_prefix = machine["stateMachineArn"].replace(":stateMachine:", ":execution:")
    total = 0
    for checkout_id in checkout_ids:
        pages = sfn.get_paginator("get_execution_history").paginate(executionArn=f"{arn_prefix}:{checkout_id}")
        total += sum(1 for page in pages for event in page["events"] if event["type"].endswith("StateEntered"))
    return total


def _units(usage: dict[str, Any], http_functions: list[str], transitions: int) -> dict[str, float]:
    """Billable units in a usage snapshot (totals, not yet per order)."""
    calls: dict[str, int] = usage["calls"]
    invocations = usage["invocations"]

    def count(prefix: str, *, but: str = "") -> int:
        return sum(n for key, n in calls.items() if key.startswith(prefix) and not (but and key.endswith(but)))

    return {
        "http_api_requests": sum(s["count"] for name, s in invocations.items() if name in http_functions),
        "lambda_requests": sum(s["count"] for s in invocations.values()),
        "lambda_gb_seconds": sum(s["durationMs"] / 1000 * s["memoryMb"] / 1024 for s in invocations.values()),
        "state_transitions": transitions,
        "dynamodb_write_units": usage["dynamodbRequestUnits"].get("write", 0),
        "dynamodb_read_units": usage["dynamodbRequestUnits"].get("read", 0),
        # Receives are left out here and added as one per order below: the local pollers' idle long polls
        # say nothing about AWS's (whose pollers are billed too, but amortised over busy batches).
        "sqs_requests": count("sqs:", but=":ReceiveMessage"),
        "data_api_requests": count("rds-data:"),
        "eventbridge_events": calls.get("events:PutEvents", 0),
        "secrets_manager_calls": count("secretsmanager:"),
    }


def _http_functions() -> list[str]:
    """Functions behind the HTTP API: each of their invocations is one API request."""
    template = load_template_file(ROOT / "template.yaml")
    return [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        and any(e.get("Type") == "HttpApi" for e in resource["Properties"].get("Events", {}).values())
    ]


def _usage(edge: str) -> dict[str, Any]:
    return dict(requests.get(f"{edge}/_localcloud/usage", timeout=10).json())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=50)
    args = parser.parse_args()

    with contextmanager(run_local_cloud)() as cloud:
        edge = cloud.outputs["AwsEndpointUrl"]
        sku = _product(cloud, units=args.orders + 10)
        _one_order(cloud, sku)  # warm every function once: cold starts are not what an order costs
        time.sleep(1)
        requests.delete(f"{edge}/_localcloud/usage", timeout=10)
        latencies, checkout_ids, polls = [], [], 0
        for _ in range(args.orders):
            latency, checkout_id, order_polls = _one_order(cloud, sku)
            latencies.append(latency)
            checkout_ids.append(checkout_id)
            polls += order_polls
        time.sleep(1)  # the last completion's trailing calls (cart emptied, event published)
        measured = _units(_usage(edge), _http_functions(), _state_transitions(cloud, checkout_ids))
        # What one status read costs, measured the same way, so that the bench's own polling can be taken out:
        # a storefront reads the status twice (the payment to make, then the result); the bench polls every 20 ms.
        requests.delete(f"{edge}/_localcloud/usage", timeout=10)
        calibration = 20
        for _ in range(calibration):
            _status(cloud.api_url, checkout_ids[-1], cloud_headers[checkout_ids[-1]])
        per_poll = _units(_usage(edge), _http_functions(), 0)

    extra_polls = polls - 2 * args.orders  # keep two status reads per order: the payment to make, then the result
    units = {
        name: (total - per_poll[name] / calibration * extra_polls) / args.orders for name, total in measured.items()
    }
    units["sqs_requests"] += 1  # one ReceiveMessage per order (see _units)

    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    print(f"checkout, end to end on the local cloud ({args.orders} orders, one at a time)")
    print(f"  latency request -> COMPLETED: p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    print("billable units per order (session, add to cart, checkout, two status reads, payment webhook), at")
    print(f"us-east-1 list prices of {PRICES_DATED}")
    total = 0.0
    for name, per_order in units.items():
        cost = per_order * PRICE_PER_UNIT[name] * 1000
        total += cost
        print(f"  {name:<24} {per_order:10.3f}   ${cost:.4f} per 1,000 orders")
    print(f"  {'total':<24} {'':10}   ${total:.4f} per 1,000 orders   (target <= ${TARGET_PER_1000})")


if __name__ == "__main__":
    main()
