"""DynamoDB stream event source mappings: read a table's stream through the edge and run the function.

As Lambda does, per shard and in order:
- start at `LATEST` or `TRIM_HORIZON`; drop the records no filter pattern matches (they count as
  processed; patterns are matched by moto's EventBridge matcher, the syntax Lambda filters share);
- gather up to `batch_size` records, waiting up to the batching window for more, and invoke
  synchronously with the DynamoDB stream event;
- on failure retry the batch with a backoff; with `ReportBatchItemFailures`, from the first failed
  sequence number instead of the start of the batch; with `BisectBatchOnFunctionError`, a batch the
  function fails is split in two first (a split is not counted as a retry, as in Lambda);
- after `MaximumRetryAttempts` retries (-1: until the records expire, which locally is never) the
  failing records are skipped, and their description is sent to the `OnFailure` destination (SQS or
  SNS) in Lambda's shape (`requestContext`, `responseContext`, `DDBStreamBatchInfo`).
"""

from __future__ import annotations

import base64
import datetime
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from localcloud.event_sources.background import BackgroundLoop
from localcloud.event_sources.batch_failures import WholeBatchFailed, failed_items
from localcloud.event_sources.destinations import Destinations
from localcloud.event_sources.filters import RecordFilter
from localcloud.event_sources.invocation import REQUEST_RESPONSE, Invoke, InvokeOutcome
from localcloud.model import StreamSource

logger = logging.getLogger(__name__)

# Lambda polls each shard about four times a second.
IDLE_POLL_SECONDS = 0.25
_RETRY_BACKOFF_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)
# New shards appear when a shard splits; look for them now and then, not on every poll.
_SHARD_DISCOVERY_SECONDS = 10.0


class StreamNotEnabled(ValueError):
    """A stream mapping names a table without a stream."""


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None  # None once a closed shard has been read to its end
    batch_limit: int  # the batch size, halved by each bisection
    pending: list[dict[str, Any]] = field(default_factory=list)  # fetched and filtered, not yet processed
    gathering_since: float | None = None  # when the first pending record arrived (the batching window)
    retries: int = 0  # failed attempts of the records at the head of `pending`
    retry_at: float = 0.0


def to_lambda_json(value: Any) -> Any:
    """A GetRecords value as Lambda's event carries it: binary as base64, timestamps as epoch seconds."""
    if isinstance(value, dict):
        return {key: to_lambda_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_lambda_json(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime.datetime):
        return int(value.timestamp())
    return value


def stream_record(record: dict[str, Any], *, stream_arn: str, region: str) -> dict[str, Any]:
    """One record of the DynamoDB stream event Lambda sends, built from a GetRecords record."""
    lambda_record: dict[str, Any] = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": to_lambda_json(record["dynamodb"]),
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:
        lambda_record["userIdentity"] = to_lambda_json(record["userIdentity"])
    return lambda_record


def _iso(epoch_seconds: Any) -> str:
    moment = datetime.datetime.fromtimestamp(float(epoch_seconds), tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class StreamPoller(BackgroundLoop):
    """One DynamoDB stream event source mapping."""

    def __init__(
        self,
        source: StreamSource,
        *,
        dynamodb: Any,
        streams: Any,
        destinations: Destinations,
        invoke: Invoke,
        function_name: str,
        function_arn: str,
        region: str,
    ) -> None:
        super().__init__(name=f"stream-poller:{source.table_name}->{function_name}")
        self._source = source
        self._dynamodb = dynamodb
        self._streams = streams
        self._destinations = destinations
        self._invoke = invoke
        self._function_name = function_name
        self._function_arn = function_arn
        self._region = region
        self._filter = RecordFilter(source.filter_patterns)
        self._stream_arn = ""
        self._shards: dict[str, _Shard] = {}
        self._discovered_at = 0.0

    def start(self) -> None:
        # Iterators are taken before start() returns: with LATEST, a write made after start() is delivered.
        self._stream_arn = self._source.stream_arn or self._latest_stream_arn()
        self._discover_shards(self._source.starting_position)
        super().start()

    def _latest_stream_arn(self) -> str:
        table = self._dynamodb.describe_table(TableName=self._source.table_name)["Table"]
        if not table.get("LatestStreamArn") or not table.get("StreamSpecification", {}).get("StreamEnabled"):
            raise StreamNotEnabled(f"table {self._source.table_name} has no stream for {self._function_name}")
        return str(table["LatestStreamArn"])

    def step(self) -> float:
        if time.monotonic() - self._discovered_at > _SHARD_DISCOVERY_SECONDS:
            # Shards found later are children of split shards: Lambda reads them from their start.
            self._discover_shards("TRIM_HORIZON")
        delays = [self._poll_shard(shard) for shard in list(self._shards.values())]
        return min(delays, default=IDLE_POLL_SECONDS)

    def _discover_shards(self, iterator_type: str) -> None:
        description = self._streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            shard_id = shard["ShardId"]
            if shard_id not in self._shards:
                iterator = self._streams.get_shard_iterator(
                    StreamArn=self._stream_arn, ShardId=shard_id, ShardIteratorType=iterator_type
                )["ShardIterator"]
                self._shards[shard_id] = _Shard(shard_id, iterator, batch_limit=self._source.batch_size)
        self._discovered_at = time.monotonic()

    def _poll_shard(self, shard: _Shard) -> float:
        now = time.monotonic()
        if shard.retry_at > now:
            return shard.retry_at - now
        fetched = 0
        if shard.retries == 0 and shard.iterator is not None and len(shard.pending) < self._source.batch_size:
            fetched = self._fetch(shard)
        if not shard.pending:
            return 0 if fetched else IDLE_POLL_SECONDS
        window = self._source.batching_window_seconds
        if shard.retries == 0 and window > 0 and len(shard.pending) < self._source.batch_size:
            waited = now - (shard.gathering_since or now)
            if waited < window and shard.iterator is not None:
                return min(IDLE_POLL_SECONDS, window - waited)
        self._process(shard)
        return 0

    def _fetch(self, shard: _Shard) -> int:
        response = self._streams.get_records(
            ShardIterator=shard.iterator, Limit=self._source.batch_size - len(shard.pending)
        )
        shard.iterator = response.get("NextShardIterator")
        records = [stream_record(r, stream_arn=self._stream_arn, region=self._region) for r in response["Records"]]
        wanted = [record for record in records if self._filter(record)]
        if wanted and not shard.pending:
            shard.gathering_since = time.monotonic()
        shard.pending.extend(wanted)
        return len(records)

    def _process(self, shard: _Shard) -> None:
        batch = shard.pending[: min(self._source.batch_size, shard.batch_limit)]
        sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in batch]
        outcome = self._invoke(self._function_name, json.dumps({"Records": batch}).encode(), REQUEST_RESPONSE)
        try:
            failed = failed_items(
                outcome, set(sequence_numbers), report_batch_item_failures=self._source.report_batch_item_failures
            )
        except WholeBatchFailed as failure:
            if self._source.bisect_batch_on_function_error and outcome.function_error and len(batch) > 1:
                shard.batch_limit = len(batch) // 2
                logger.warning("%s: batch of %d failed, bisecting: %s", self.name, len(batch), failure)
                return
            logger.warning("%s: batch of %d failed: %s", self.name, len(batch), failure)
            self._failed(shard, batch, 0, outcome)
            return
        if failed:
            # Lambda checkpoints at the lowest failed sequence number: that record and all after it again.
            first_failed = min(sequence_numbers.index(number) for number in failed)
            logger.warning("%s: %d of %d records failed", self.name, len(failed), len(batch))
            self._failed(shard, batch, first_failed, outcome)
            return
        self._advance(shard, len(batch))

    def _advance(self, shard: _Shard, count: int) -> None:
        shard.pending = shard.pending[count:]
        shard.retries = 0
        shard.retry_at = 0.0
        shard.batch_limit = self._source.batch_size
        shard.gathering_since = time.monotonic() if shard.pending else None

    def _failed(self, shard: _Shard, batch: list[dict[str, Any]], first_failed: int, outcome: InvokeOutcome) -> None:
        shard.pending = batch[first_failed:] + shard.pending[len(batch) :]
        shard.retries += 1
        allowed = self._source.maximum_retry_attempts
        if 0 <= allowed < shard.retries:
            discarded = batch[first_failed:]
            logger.error("%s: skipping %d records after %d retries", self.name, len(discarded), allowed)
            self._report_discarded(shard, discarded, outcome, attempts=shard.retries)
            self._advance(shard, len(discarded))
            return
        backoff = _RETRY_BACKOFF_SECONDS[min(shard.retries - 1, len(_RETRY_BACKOFF_SECONDS) - 1)]
        shard.retry_at = time.monotonic() + backoff

    def _report_discarded(
        self, shard: _Shard, records: list[dict[str, Any]], outcome: InvokeOutcome, *, attempts: int
    ) -> None:
        if not self._source.on_failure_arn:
            return
        response_context: dict[str, Any] = {"statusCode": outcome.status_code, "executedVersion": "$LATEST"}
        if outcome.function_error:
            response_context["functionError"] = outcome.function_error
        created = [record["dynamodb"].get("ApproximateCreationDateTime", time.time()) for record in records]
        invocation_record = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self._function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": response_context,
            "version": "1.0",
            "timestamp": _iso(time.time()),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(created[0]),
                "approximateArrivalOfLastRecord": _iso(created[-1]),
                "batchSize": len(records),
                "streamArn": self._stream_arn,
            },
        }
        try:
            self._destinations.send(self._source.on_failure_arn, json.dumps(invocation_record))
        except Exception:
            # Lambda drops the record description when the destination refuses it; the records are skipped anyway.
            logger.exception("%s: could not send to %s", self.name, self._source.on_failure_arn)
