"""Powertools Logger (JSON), Tracer (X-Ray) and Metrics (EMF), one set per function process.

Functions import these at module level, as Powertools' examples do; service name and metrics
namespace come from the template's POWERTOOLS_* variables.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
# Only boto calls are traced: patching every library X-Ray knows (requests, httplib, ...) costs cold start.
tracer = Tracer(patch_modules=["botocore"])
metrics = Metrics()
