"""DynamoDB Time to Live: delete the expired items of every table with TTL enabled.

moto records a table's TTL setting but never expires anything. DynamoDB deletes an item some time
after the epoch-seconds Number in its TTL attribute has passed, ignores values more than five years
in the past, and never touches an item whose attribute is missing or not a Number. The sweeper does
the same in rounds: every round reads the TTL setting of each table (tables and settings may change
while the local cloud runs), scans a bounded number of items per table (resuming where the previous
round stopped) and deletes at most a bounded number of them. A delete is conditional on the TTL
value it saw, so an item extended meanwhile survives. Expiry compares with the real clock, like the
handlers that set the attribute; the time scale only makes the rounds more frequent.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from botocore.exceptions import ClientError

from localcloud.event_sources.background import BackgroundLoop

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_SECONDS = 60.0
MIN_SWEEP_INTERVAL_SECONDS = 0.2
_FIVE_YEARS_SECONDS = 5 * 365 * 86400
_SCAN_PAGE = 100


class TtlSweeper(BackgroundLoop):
    def __init__(
        self,
        dynamodb: Any,
        *,
        interval_seconds: float = SWEEP_INTERVAL_SECONDS,
        max_scanned_per_table: int = 1000,
        max_deleted_per_table: int = 100,
    ) -> None:
        super().__init__(name="ttl-sweeper")
        self._dynamodb = dynamodb
        self._interval = max(interval_seconds, MIN_SWEEP_INTERVAL_SECONDS)
        self._max_scanned = max_scanned_per_table
        self._max_deleted = max_deleted_per_table
        self._resume_keys: dict[str, dict[str, Any] | None] = {}
        self._key_names: dict[str, list[str]] = {}

    def step(self) -> float:
        self.sweep()
        return self._interval

    def sweep(self) -> int:
        """One round over every table with TTL enabled; returns how many items it deleted."""
        deleted = 0
        for table in self._table_names():
            attribute = self._ttl_attribute(table)
            if attribute is not None:
                deleted += self._sweep_table(table, attribute)
        return deleted

    def _table_names(self) -> list[str]:
        names: list[str] = []
        for page in self._dynamodb.get_paginator("list_tables").paginate():
            names.extend(page["TableNames"])
        return names

    def _ttl_attribute(self, table: str) -> str | None:
        description = self._dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if description.get("TimeToLiveStatus") != "ENABLED":
            return None
        return str(description["AttributeName"])

    def _keys_of(self, table: str) -> list[str]:
        if table not in self._key_names:
            schema = self._dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
            self._key_names[table] = [key["AttributeName"] for key in schema]
        return self._key_names[table]

    def _sweep_table(self, table: str, attribute: str) -> int:
        keys = self._keys_of(table)
        names = {f"#k{i}": name for i, name in enumerate(keys)} | {"#ttl": attribute}
        now = int(time.time())
        start_key = self._resume_keys.get(table)
        scanned = deleted = 0
        while scanned < self._max_scanned and deleted < self._max_deleted:
            request: dict[str, Any] = {
                "TableName": table,
                "Limit": min(_SCAN_PAGE, self._max_scanned - scanned),
                # The type test first: it is what DynamoDB's TTL checks, and moto cannot compare N with S.
                "FilterExpression": "attribute_type(#ttl, :number) AND #ttl BETWEEN :oldest AND :now",
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": {
                    ":number": {"S": "N"},
                    ":oldest": {"N": str(now - _FIVE_YEARS_SECONDS)},
                    ":now": {"N": str(now)},
                },
            }
            if start_key:
                request["ExclusiveStartKey"] = start_key
            page = self._dynamodb.scan(**request)
            scanned += page["ScannedCount"]
            for item in page["Items"]:
                if deleted >= self._max_deleted:
                    break
                deleted += self._delete_if_unchanged(table, keys, attribute, item)
                # Resume right after the last item handled, even if the page is not finished.
                start_key = {name: item[name] for name in keys}
            else:
                start_key = page.get("LastEvaluatedKey")
                if not start_key:
                    break
        self._resume_keys[table] = start_key
        return deleted

    def _delete_if_unchanged(self, table: str, keys: list[str], attribute: str, item: dict[str, Any]) -> int:
        try:
            self._dynamodb.delete_item(
                TableName=table,
                Key={name: item[name] for name in keys},
                ConditionExpression="#ttl = :seen",
                ExpressionAttributeNames={"#ttl": attribute},
                ExpressionAttributeValues={":seen": item[attribute]},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return 0
            raise
        logger.debug("ttl: expired %s from %s", item, table)
        return 1
