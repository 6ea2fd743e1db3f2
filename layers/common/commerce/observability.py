"""Powertools Logger (JSON), Tracer (X-Ray) and Metrics (EMF), one set per function process, and the one way
functions count things (`count`, `refusals_counted`).

Functions import these at module level, as Powertools' examples do; service name and metrics
namespace come from the template's POWERTOOLS_* variables.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
# Only boto calls are traced: patching every library X-Ray knows (requests, httplib, ...) costs cold start.
# Responses and errors are never recorded (POWERTOOLS_TRACER_CAPTURE_RESPONSE/_ERROR "false" in template.yaml's
# Globals): they hold session tokens, clientSecrets and personal data. tests/unit/test_security_template.py.
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()


def count(*names: str, value: int = 1) -> None:
    """Add `value` to each metric named and flush them now, rather than with @log_metrics, which warns on
    every request that counts nothing."""
    for name in names:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.flush_metrics()


# What the upkeep jobs' repairs are counted as (alarmed on when above 0): once in total, with the function's
# usual dimensions, and once per kind of repair with a `kind` dimension as well.
RECONCILIATION_REPAIRS = "ReconciliationRepairs"
# What the stock audit found wrong (alarmed on when above 0), counted the same way.
STOCK_AUDIT_MISMATCHES = "StockAuditMismatches"


def count_repairs(repaired: Mapping[str, int]) -> None:
    """Count an upkeep run's repairs (kind -> how many): the total, then each kind, each flushed as EMF."""
    count_by_kind(RECONCILIATION_REPAIRS, repaired)


def count_by_kind(metric: str, counts: Mapping[str, int]) -> None:
    """Count `metric` in total, then once per kind with a `kind` dimension, each flushed as EMF."""
    count(metric, value=sum(counts.values()))
    for kind, value in counts.items():
        metrics.add_dimension(name="kind", value=kind)
        count(metric, value=value)


@contextmanager
def refusals_counted(metric_by_error: Mapping[type[Exception], str]) -> Iterator[None]:
    """Count the refusals named (error class -> metric) that leave the block, and let them go on."""
    try:
        yield
    except tuple(metric_by_error) as error:
        count(next(metric for kind, metric in metric_by_error.items() if isinstance(error, kind)))
        raise
