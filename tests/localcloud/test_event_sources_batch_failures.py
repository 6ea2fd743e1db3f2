"""How a batch is settled from a function's outcome, with and without ReportBatchItemFailures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.event_sources import InvokeOutcome
from localcloud.event_sources.batch_failures import WholeBatchFailed, failed_items

pytestmark = pytest.mark.localcloud

BATCH = {"m-1", "m-2", "m-3"}


def returned(payload: Any) -> InvokeOutcome:
    return InvokeOutcome(200, payload if isinstance(payload, bytes) else json.dumps(payload).encode())


@pytest.mark.parametrize(
    ("outcome", "failed"),
    [
        (returned(b""), set()),
        (returned(None), set()),
        (returned({}), set()),
        (returned({"statusCode": 200}), set()),
        (returned({"batchItemFailures": []}), set()),
        (returned({"batchItemFailures": None}), set()),
        (returned({"batchItemFailures": [{"itemIdentifier": "m-2"}]}), {"m-2"}),
        (returned({"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-3"}]}), {"m-1", "m-3"}),
    ],
)
def test_reported_failures_name_the_items_to_retry(outcome: InvokeOutcome, failed: set[str]) -> None:
    # Given a function's response with ReportBatchItemFailures on / When settled / Then these items are retried
    assert failed_items(outcome, BATCH, report_batch_item_failures=True) == failed


@pytest.mark.parametrize(
    "outcome",
    [
        InvokeOutcome(200, b'{"errorMessage": "boom"}', "Unhandled"),
        InvokeOutcome(429, b'{"message": "Rate exceeded"}'),
        returned(b"not json"),
        returned("a string"),
        returned({"batchItemFailures": "m-1"}),
        returned({"batchItemFailures": [{"itemIdentifier": ""}]}),
        returned({"batchItemFailures": [{"itemIdentifier": None}]}),
        returned({"batchItemFailures": [{"itemId": "m-1"}]}),
        returned({"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}),
    ],
)
def test_errors_and_invalid_reports_fail_the_whole_batch(outcome: InvokeOutcome) -> None:
    # Given a function error, a refused invoke or an invalid report / When settled / Then every item is retried
    with pytest.raises(WholeBatchFailed):
        failed_items(outcome, BATCH, report_batch_item_failures=True)


def test_without_item_reporting_the_response_is_not_read() -> None:
    # Given a successful call whose response looks like a report / When settled without the setting
    outcome = returned({"batchItemFailures": [{"itemIdentifier": "m-1"}]})

    # Then nothing is retried
    assert failed_items(outcome, BATCH, report_batch_item_failures=False) == set()
