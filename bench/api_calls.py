"""AWS API calls per storefront request: one add-to-cart and one get-cart, on a cart that already has lines.

The handlers run in-process against moto (the table created from template.yaml's own properties) and
every call their DynamoDB client sends is counted with botocore's `before-call` hook. The minimum the
data model allows (README, "Design notes"): get-cart = 2 (session + cart in one BatchGetItem, then the
lines' SKUs to re-price them), add-to-cart = 3 (session + cart + the added SKU, then the other lines'
SKUs, which are only known once the cart is read, then one conditional write).

    python -m bench.api_calls
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
from moto import mock_aws

from commerce.adapters.dynamodb.client import dynamodb_client
from tests.support.carts import Storefront, configure
from tests.support.template import create_table

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "CommerceBench")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "commerce")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")  # the figures, not the handlers' logs


def main() -> None:
    with mock_aws(), pytest.MonkeyPatch.context() as env:
        import boto3

        table = "commerce-bench"
        create_table(boto3.client("dynamodb"), "CommerceTable", table)
        env.setenv("TABLE_NAME", table)
        configure(env)
        shop = Storefront(table)
        for sku in ("BENCH-A", "BENCH-B", "BENCH-C"):
            shop.seed_sku(sku)
        token = shop.new_session()
        shop.add(token, "BENCH-A", 1)
        shop.add(token, "BENCH-B", 1)

        calls: list[str] = []

        def record(model: Any, **_: Any) -> None:
            calls.append(model.name)

        dynamodb_client().meta.events.register("before-call.dynamodb.*", record)
        shop.add(token, "BENCH-C", 1)
        add_calls = Counter(calls)
        calls.clear()
        shop.call("get_cart", token)
        get_calls = Counter(calls)

    print("AWS API calls per request (a cart with two lines; minimum the data model allows in brackets)")
    print(f"  add-to-cart  {sum(add_calls.values())}  [3]  {dict(add_calls)}")
    print(f"  get-cart     {sum(get_calls.values())}  [2]  {dict(get_calls)}")


if __name__ == "__main__":
    main()
