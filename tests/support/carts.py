"""Shared helpers (no tests) for the session and cart integration tests: a storefront that calls the real
handlers with the events/ samples, seeds catalog SKU items in the documented layout, and snapshots the
table to prove that refused requests changed nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
import pytest

from commerce.adapters.dynamodb.client import dynamodb_client, from_attrs, to_attrs
from commerce.adapters.dynamodb.keys import sku_key
from commerce.settings import load_settings
from tests.support.handlers import Handler, load_handler
from tests.support.lambda_events import FakeLambdaContext, http_event

FUNCTIONS = {
    "create_session": "create_session",
    "get_cart": "get_cart",
    "delete_session": "delete_session",
    "add_cart_line": "add_cart_line",
    "set_cart_line": "set_cart_line",
    "remove_cart_line": "remove_cart_line",
}
SAMPLE_SKU = "TSHIRT-RED-M"  # the SKU in the events/ samples' paths
NO_TOKEN = object()


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


def configure(monkeypatch: pytest.MonkeyPatch, **overrides: str) -> None:
    """The functions' environment as template.yaml's Globals give it, then fresh settings and clients."""
    env = {
        "USER_POOL_ID": "us-east-1_notused",
        "USER_POOL_CLIENT_ID": "notused",
        "AWS_REGION": "us-east-1",
        "SESSION_TTL_DAYS": "7",
        "CART_MAX_LINE_QUANTITY": "10",
        "CART_MAX_LINES": "5",
        **overrides,
    }
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COGNITO_IDP", "AWS_ENDPOINT_URL_DYNAMODB"):
        if name not in env:
            monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    load_settings.cache_clear()
    if any(name.startswith("AWS_ENDPOINT_URL") for name in overrides):
        # The handlers' client is created once per process; one pointing elsewhere must not be reused.
        dynamodb_client.cache_clear()


@cache
def _test_client(endpoint_url: str | None) -> Any:
    """The tests' own DynamoDB client (never the handlers', whose calls some tests count)."""
    return boto3.client("dynamodb", endpoint_url=endpoint_url)


class Storefront:
    """Calls the five handlers the way API Gateway would, starting from each function's sample event."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.client = _test_client(os.environ.get("AWS_ENDPOINT_URL"))
        self.handlers: dict[str, Handler] = {}

    def handler(self, function: str) -> Handler:
        """The function's handler, imported afresh on first use so that it reads this test's settings."""
        if function not in self.handlers:
            self.handlers[function] = load_handler(FUNCTIONS[function], fresh=True)
        return self.handlers[function]

    def call(
        self,
        function: str,
        token: Any = NO_TOKEN,
        *,
        body: Any = None,
        raw_body: str | None = None,
        sku: str | None = None,
        bearer: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        event = http_event(function, body=body, raw_body=raw_body, headers=headers)
        event["headers"].pop("x-session-token", None)
        if token is not NO_TOKEN:
            event["headers"]["x-session-token"] = token
        if bearer is not None:
            event["headers"]["authorization"] = f"Bearer {bearer}"
        if sku is not None:
            path = event["rawPath"].rsplit("/", 1)[0] + "/" + sku
            event["rawPath"] = event["requestContext"]["http"]["path"] = path
            event["pathParameters"] = {"sku": sku}
        response = self.handler(function)(event, FakeLambdaContext())
        assert response["headers"]["X-Request-Id"] == event["requestContext"]["requestId"]
        return Answer(
            status=response["statusCode"],
            body=json.loads(response["body"]) if response.get("body") else None,
            headers=response["headers"],
        )

    def new_session(self) -> str:
        answer = self.call("create_session")
        assert answer.status == 201, answer.body
        return str(answer.body["token"])

    def add(self, token: str, sku: str, quantity: int, **kwargs: Any) -> Answer:
        return self.call("add_cart_line", token, body={"sku": sku, "quantity": quantity}, **kwargs)

    def seed_sku(
        self,
        sku: str,
        *,
        amount: int = 1500,
        currency: str = "EUR",
        available: int = 100,
        retired: bool = False,
        product_id: str = "0123456789abcdef0123456789abcdef",
        product_name: str = "Organic T-Shirt",
        variant_name: str = "Red / M",
    ) -> None:
        """A SKU item as the catalog and inventory write it (keys.py: SKU#<sku>)."""
        item = {
            **sku_key(sku),
            "productId": product_id,
            "productName": product_name,
            "variantName": variant_name,
            "price": {"amount": amount, "currency": currency},
            "onHand": available,
            "reserved": 0,
            "available": available,
            "retired": retired,
        }
        self.client.put_item(TableName=self.table, Item=to_attrs(item))

    def items(self) -> list[dict[str, Any]]:
        """Every item of the table, in key order: compare two snapshots to prove nothing was written."""
        found: list[dict[str, Any]] = []
        for page in self.client.get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True):
            found.extend(from_attrs(item) for item in page["Items"])
        return sorted(found, key=lambda item: (item["PK"], item["SK"]))

    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = self.client.get_item(
            TableName=self.table, Key={"PK": {"S": pk}, "SK": {"S": sk}}, ConsistentRead=True
        )
        return from_attrs(response["Item"]) if "Item" in response else None


def line_quantities(answer: Answer) -> dict[str, int]:
    return {line["sku"]: line["quantity"] for line in answer.body["lines"]}
