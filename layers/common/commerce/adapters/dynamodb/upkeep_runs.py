"""`UpkeepRuns` on the commerce table: UPKEEP / JOB#<job> names each job that has run, UPKEEP#<job> /
RUN#<startedAt>#<runId> holds one run (keys.py), expired by TTL after `RUNS_KEPT_FOR`.

A job runs every few minutes, so neither partition is ever hot; listing is one Query for the jobs and one
per job for its newest runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from commerce.adapters.dynamodb.client import dynamodb_client, from_attrs, to_attrs
from commerce.adapters.dynamodb.keys import key, upkeep_jobs_key, upkeep_runs_partition
from commerce.domain.operations.upkeep import RUNS_KEPT_FOR, UpkeepJob, UpkeepRun
from commerce.domain.sessions.models import rfc3339

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoDbUpkeepRuns:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        return self._client or dynamodb_client()

    def record(self, run: UpkeepRun) -> None:
        expires = int((run.ended_at + RUNS_KEPT_FOR).timestamp())
        started = rfc3339(run.started_at)
        self.client.put_item(
            TableName=self.table_name,
            Item=to_attrs(
                {
                    **key(upkeep_runs_partition(run.job), f"RUN#{started}#{run.run_id}"),
                    "entity": "upkeepRun",
                    "job": run.job,
                    "runId": run.run_id,
                    "startedAt": started,
                    "endedAt": rfc3339(run.ended_at),
                    "examined": run.examined,
                    "repaired": dict(run.repaired),
                    "failed": run.failed,
                    "mismatches": dict(run.mismatches),
                    "ttl": expires,
                }
            ),
        )
        # The job's entry outlives its runs by as long: a job that stopped running drops out of the list.
        self.client.put_item(
            TableName=self.table_name,
            Item=to_attrs(
                {
                    **upkeep_jobs_key(run.job),
                    "entity": "upkeepJob",
                    "job": run.job,
                    "lastStartedAt": started,
                    "ttl": expires,
                }
            ),
        )

    def recent(self, runs_per_job: int) -> list[UpkeepJob]:
        jobs = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":pk": {"S": "UPKEEP"}, ":prefix": {"S": "JOB#"}},
        )
        found = []
        for job in sorted(str(item["job"]) for item in jobs):
            runs = self._query(
                KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
                ExpressionAttributeValues={":pk": {"S": upkeep_runs_partition(job)}, ":prefix": {"S": "RUN#"}},
                ScanIndexForward=False,
                Limit=runs_per_job,
            )
            found.append(UpkeepJob(job, [_run(item) for item in runs]))
        return found

    def _query(self, **request: Any) -> list[dict[str, Any]]:
        response = self.client.query(TableName=self.table_name, **request)
        return [from_attrs(item) for item in response.get("Items", [])]


def _run(item: dict[str, Any]) -> UpkeepRun:
    return UpkeepRun(
        job=str(item["job"]),
        run_id=str(item["runId"]),
        started_at=datetime.fromisoformat(item["startedAt"]),
        ended_at=datetime.fromisoformat(item["endedAt"]),
        examined=int(item["examined"]),
        repaired={str(kind): int(count) for kind, count in (item.get("repaired") or {}).items()},
        failed=int(item["failed"]),
        # Runs recorded before the stock audit existed have no mismatches.
        mismatches={str(kind): int(count) for kind, count in (item.get("mismatches") or {}).items()},
    )
