"""The `rds-data` client, created lazily and once per container (cold start is a feature).

Timeouts: a Data API statement may run up to 45 seconds, so the read timeout is above that; connecting
is quick or not at all. botocore does not retry: a statement that failed after reaching the database may
have committed, and only `data_api` knows which errors mean "not run" (an auto-paused cluster resuming);
it retries those within the function's time budget.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_rds_data import RDSDataServiceClient

CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 50


@cache
def rds_data_client() -> RDSDataServiceClient:
    import boto3  # imported here so that module import stays light
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"mode": "standard", "total_max_attempts": 1},
    )
    return boto3.client("rds-data", config=config)
