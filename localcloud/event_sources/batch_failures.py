"""Which records of a batch failed, read from a function's outcome as Lambda reads it.

With `ReportBatchItemFailures`, a handler returns `{"batchItemFailures": [{"itemIdentifier": id}]}`.
Lambda treats the batch as a complete success for an empty or null list, an empty or null response,
or a response without the key; and as a complete failure for a function error, a response that is
not a JSON object, or an identifier that is empty, null, or not one of the batch's records.
Without `ReportBatchItemFailures` the response is ignored: only a function error fails the batch.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from localcloud.event_sources.invocation import InvokeOutcome


class WholeBatchFailed(Exception):
    """The batch is settled as a complete failure; the message says why (for the logs)."""


def failed_items(outcome: InvokeOutcome, item_ids: Collection[str], *, report_batch_item_failures: bool) -> set[str]:
    """The identifiers of the items to retry; raises WholeBatchFailed when every item must be retried."""
    if not outcome.succeeded:
        raise WholeBatchFailed(_describe_failure(outcome))
    if not report_batch_item_failures:
        return set()
    try:
        response = outcome.json()
    except (ValueError, UnicodeDecodeError) as error:
        raise WholeBatchFailed(f"the response is not JSON: {error}") from error
    if response is None:
        return set()
    if not isinstance(response, dict):
        raise WholeBatchFailed(f"the response is not a JSON object: {_abbreviated(response)}")
    failures = response.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        raise WholeBatchFailed(f"batchItemFailures is not a list: {_abbreviated(failures)}")
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in item_ids:
            raise WholeBatchFailed(f"invalid itemIdentifier in {_abbreviated(failure)}")
        failed.add(identifier)
    return failed


def _describe_failure(outcome: InvokeOutcome) -> str:
    payload = outcome.payload[:500].decode("utf-8", errors="replace")
    if outcome.function_error:
        return f"function error ({outcome.function_error}): {payload}"
    return f"invoke answered {outcome.status_code}: {payload}"


def _abbreviated(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:200] + "..."
