"""Secrets Manager: a secret's string, read once per container (and again only when asked to).

The payments functions read the Stripe API key (`PaymentsApiKeySecret`) and the webhook signing secret
(`PaymentsWebhookSecret`) here. Reading once per container keeps Secrets Manager off the hot path;
`forget` lets a caller re-read a value that turned out stale (an operator put the real key in after deploy).
`current_and_previous` reads both versions of a rotated key (the cursor MAC key, `CursorSecret`).
"""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

_lock = threading.Lock()
_values: dict[str, str] = {}


@cache
def secretsmanager_client() -> SecretsManagerClient:
    import boto3  # imported here so that module import stays light (cold start)

    return boto3.client("secretsmanager")


def secret_string(secret_id: str) -> str:
    """The current SecretString of `secret_id` (an ARN or name), cached for the life of the container."""
    with _lock:
        cached = _values.get(secret_id)
    if cached is not None:
        return cached
    value = secretsmanager_client().get_secret_value(SecretId=secret_id)["SecretString"]
    with _lock:
        _values[secret_id] = value
    return value


def forget(secret_id: str) -> None:
    with _lock:
        _values.pop(secret_id, None)


def current_and_previous(secret_id: str) -> tuple[str, str | None]:
    """The SecretString of `secret_id`'s AWSCURRENT version and of its AWSPREVIOUS one (None before the first
    rotation), read now (callers that verify with both cache them: commerce.api.pagination)."""
    client = secretsmanager_client()
    current = client.get_secret_value(SecretId=secret_id)["SecretString"]
    try:
        previous = client.get_secret_value(SecretId=secret_id, VersionStage="AWSPREVIOUS")["SecretString"]
    except client.exceptions.ResourceNotFoundException:
        previous = None
    return current, previous
