"""The DynamoDB client (created lazily, once per container) and plain-Python <-> attribute-value conversion.

Adapters use the low-level client (lighter to create than a resource) and these helpers; numbers come
back as int, never Decimal or float.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from commerce.retry import Backoff

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Between attempts of a transaction that lost to contention or throttling: full jitter, 25 ms doubling to 0.5 s.
TRANSACTION_BACKOFF = Backoff(attempts=6, base_seconds=0.025, cap_seconds=0.5)


@cache
def dynamodb_client() -> DynamoDBClient:
    import boto3  # imported here so that module import stays light (cold start)

    return boto3.client("dynamodb")


def to_attrs(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {k: serializer.serialize(v) for k, v in item.items() if v is not None}


def from_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {k: _plain(deserializer.deserialize(v)) for k, v in attrs.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value
