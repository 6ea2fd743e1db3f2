"""Powertools Logger (JSON), Tracer (X-Ray) and Metrics (EMF), one set per function process.

Functions import these at module level, as Powertools' examples do; service name and metrics
namespace come from the template's POWERTOOLS_* variables.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
