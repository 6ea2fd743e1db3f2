"""Powertools idempotency (a DynamoDB table of answered requests) as the domain sees it.

`once(function, ...)` answers a repeated request with the first answer; a reused key with another payload
raises the domain's `IdempotencyKeyReused`, a key whose first request still runs `RequestInProgress`. The
utility is imported and its table client created on the first call, not at import: it would slow the cold
start of every function that imports this module.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from commerce.domain.checkout.errors import IdempotencyKeyReused, RequestInProgress


class Idempotent:
    """`function(request=..., **rest)` made idempotent on the `key` JMESPath of `request` (the payload at
    `payload` must match for a replay). `context()` is the running invocation's: an in-progress record expires
    with its time budget, so a crashed attempt frees the key."""

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        table_name: str,
        key: str,
        payload: str,
        retention_seconds: int,
        key_prefix: str,
        context: Callable[[], LambdaContext],
    ) -> None:
        self.function = function
        self.table_name = table_name
        self.key = key
        self.payload = payload
        self.retention_seconds = retention_seconds
        self.key_prefix = key_prefix
        self.context = context

    def __call__(self, **kwargs: Any) -> Any:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        idempotent, config = self._wrapped()
        config.register_lambda_context(self.context())
        try:
            return idempotent(**kwargs)
        except IdempotencyValidationError as error:
            raise IdempotencyKeyReused() from error
        except IdempotencyAlreadyInProgressError as error:
            raise RequestInProgress() from error

    @cache  # noqa: B019 - one per instance, and instances live as long as the function process
    def _wrapped(self) -> tuple[Callable[..., Any], Any]:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        config = IdempotencyConfig(
            event_key_jmespath=self.key,
            payload_validation_jmespath=self.payload,
            expires_after_seconds=self.retention_seconds,
            raise_on_no_idempotency_key=True,
        )
        store = DynamoDBPersistenceLayer(table_name=self.table_name)
        wrapped = idempotent_function(
            self.function,
            data_keyword_argument="request",
            persistence_store=store,
            config=config,
            key_prefix=self.key_prefix,
        )
        return wrapped, config
