"""DynamoDB's per-partition write throughput, enforced on the edge and answered with DynamoDB's own errors.

One partition of a DynamoDB table takes at most 1,000 write units a second, on-demand or provisioned; a hot
partition key past that is throttled (throttling reason `TableWriteKeyRangeThroughputExceeded`). moto never
throttles, so a design that funnels every write into one item would pass every local test and fail in a
real sale. This interceptor counts write units per (table, partition key value) in a token bucket (one
second of burst) and, over the limit, answers as DynamoDB does:

- PutItem, UpdateItem, DeleteItem, BatchWriteItem: HTTP 400 `ProvisionedThroughputExceededException` with
  `ThrottlingReasons`; the SDKs retry it themselves (botocore's standard and legacy modes both do);
- TransactWriteItems: HTTP 400 `TransactionCanceledException` whose `CancellationReasons` say
  `ThrottlingError` for each throttled item (`None` for the others); the SDK does not retry that, the
  caller must.

Units as on AWS for items up to 1 KB: 1 per standard write, 2 per item of a transaction (a ConditionCheck
too). A throttled request consumes nothing; a write that then fails its condition still consumes, as on
AWS. Simplification: a BatchWriteItem with any item over the limit is throttled whole (DynamoDB would
return the throttled items as `UnprocessedItems` and write the rest).

Setting: `LOCALCLOUD_DYNAMODB_PARTITION_WRITES_PER_SECOND` (unset: no limit, the default of `make run`),
scaled to this machine: the edge serves a few hundred writes a second in all, so AWS's 1,000 would never
bite; tests and the simulator use tens. At run time: `GET <edge>/_localcloud/dynamodb/partition-limit`
answers `{"writesPerSecond", "throttled": {"requests", "byOperation"}}`, `PUT` with `{"writesPerSecond":
N | null}` changes the limit, `DELETE` resets the counts. The partition key of each table is learnt from
the CreateTable requests that pass the edge.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

SETTING = "LOCALCLOUD_DYNAMODB_PARTITION_WRITES_PER_SECOND"
CONTROL_PATH = "/_localcloud/dynamodb/partition-limit"
ACCOUNT_ID = "123456789012"  # the local cloud's account, as in the ARNs it hands out

_SINGLE_WRITES = ("PutItem", "UpdateItem", "DeleteItem")
_TYPE_PREFIX = "com.amazonaws.dynamodb.v20120810#"
_THROTTLED_MESSAGE = (
    "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API."
)
_TRANSACTION_THROTTLED_MESSAGE = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your "
    "table or index so please try again shortly. If exceptions persist, check if you have a hot key: "
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html."
)

Partition = tuple[str, str]  # (table name, partition key value as its JSON attribute value)


class Edge(Protocol):
    def intercept(
        self,
        predicate: Callable[[str, dict[str, Any]], bool],
        app: Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]],
    ) -> None: ...


class PartitionLimit:
    """A WSGI interceptor of the edge: `matches` decides (and charges), `__call__` answers the throttle."""

    def __init__(self, writes_per_second: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.writes_per_second = writes_per_second
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[Partition, tuple[float, float]] = {}  # partition -> (units left, when)
        self._partition_keys: dict[str, str] = {}  # table -> its partition key attribute
        self._throttled: dict[str, int] = {}

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> PartitionLimit:
        raw = (os.environ if environ is None else environ).get(SETTING, "").strip()
        rate = float(raw) if raw else None
        if rate is not None and rate <= 0:
            raise ValueError(f"{SETTING} must be a positive number of write units per second")
        return cls(rate)

    @classmethod
    def installed_on(cls, edge: Edge) -> PartitionLimit:
        """The limit from the environment, registered as the edge's interceptor (the edge's one hook line)."""
        limit = cls.from_environ()
        edge.intercept(limit.matches, limit)
        return limit

    # ------------------------------------------------------------------ counts

    def throttled(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": sum(self._throttled.values()), "byOperation": dict(self._throttled)}

    def reset(self) -> None:
        with self._lock:
            self._throttled.clear()
            self._buckets.clear()

    # ------------------------------------------------------------------ WSGI

    def matches(self, service: str, environ: dict[str, Any]) -> bool:
        if environ.get("PATH_INFO") == CONTROL_PATH:
            return True
        if service != "dynamodb":
            return False
        operation = str(environ.get("HTTP_X_AMZ_TARGET", "")).rsplit(".", 1)[-1]
        if operation == "CreateTable":
            self._learn_table(_peek_json(environ))
            return False
        if self.writes_per_second is None or operation not in (*_SINGLE_WRITES, "BatchWriteItem", "TransactWriteItems"):
            return False
        body = _peek_json(environ)
        charges = self._charges(operation, body)
        over = self._take(charges)
        if not over:
            return False
        environ["localcloud.throttle"] = _throttle_answer(operation, body, charges, over, _region(environ))
        with self._lock:
            self._throttled[operation] = self._throttled.get(operation, 0) + 1
        return True

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == CONTROL_PATH:
            return self._control(environ, start_response)
        body = json.dumps(environ["localcloud.throttle"]).encode()
        start_response(
            "400 Bad Request",
            [
                ("Content-Type", "application/x-amz-json-1.0"),
                ("Content-Length", str(len(body))),
                ("x-amzn-RequestId", "localcloud-throttled"),
            ],
        )
        return [body]

    def _control(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method == "DELETE":
            self.reset()
        elif method == "PUT":
            rate = _peek_json(environ).get("writesPerSecond")
            if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0):
                body = json.dumps({"message": "writesPerSecond must be a positive number or null"}).encode()
                start_response("400 Bad Request", [("Content-Type", "application/json")])
                return [body]
            self.writes_per_second = None if rate is None else float(rate)
        body = json.dumps({"writesPerSecond": self.writes_per_second, "throttled": self.throttled()}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    # ------------------------------------------------------------------ accounting

    def _learn_table(self, body: dict[str, Any]) -> None:
        for element in body.get("KeySchema") or []:
            if element.get("KeyType") == "HASH" and body.get("TableName"):
                with self._lock:
                    self._partition_keys[str(body["TableName"])] = str(element["AttributeName"])

    def _charges(self, operation: str, body: dict[str, Any]) -> list[tuple[Partition | None, int]]:
        """Write units per item of the request, with the partition each lands on (None: not known)."""
        if operation in _SINGLE_WRITES:
            return [(self._partition(body.get("TableName"), body.get("Key") or body.get("Item")), 1)]
        if operation == "BatchWriteItem":
            return [
                (
                    self._partition(
                        table, (r.get("PutRequest") or {}).get("Item") or (r.get("DeleteRequest") or {}).get("Key")
                    ),
                    1,
                )
                for table, requests in (body.get("RequestItems") or {}).items()
                for r in requests
            ]
        charges: list[tuple[Partition | None, int]] = []
        for entry in body.get("TransactItems") or []:
            action: dict[str, Any] = next(iter(entry.values()), {})
            charges.append((self._partition(action.get("TableName"), action.get("Key") or action.get("Item")), 2))
        return charges

    def _partition(self, table: Any, attributes: Any) -> Partition | None:
        attribute = self._partition_keys.get(str(table))
        if attribute is None or not isinstance(attributes, dict) or attribute not in attributes:
            return None
        return str(table), json.dumps(attributes[attribute], sort_keys=True)

    def _take(self, charges: list[tuple[Partition | None, int]]) -> set[Partition]:
        """Charge every partition the request writes, or none of them: the partitions over their limit."""
        rate = self.writes_per_second
        if rate is None:
            return set()
        wanted: dict[Partition, int] = {}
        for partition, units in charges:
            if partition is not None:
                wanted[partition] = wanted.get(partition, 0) + units
        now = self.clock()
        with self._lock:
            levels = {}
            for partition in wanted:
                left, then = self._buckets.get(partition, (rate, now))
                levels[partition] = min(rate, left + (now - then) * rate)
            over = {p for p, units in wanted.items() if levels[p] < units}
            if over:
                return over
            for partition, units in wanted.items():
                self._buckets[partition] = (levels[partition] - units, now)
        return set()


def _throttle_answer(
    operation: str,
    body: dict[str, Any],
    charges: list[tuple[Partition | None, int]],
    over: set[Partition],
    region: str,
) -> dict[str, Any]:
    if operation == "TransactWriteItems":
        reasons = [
            {"Code": "ThrottlingError", "Message": _TRANSACTION_THROTTLED_MESSAGE}
            if partition in over
            else {"Code": "None"}
            for partition, _ in charges
        ]
        codes = ", ".join(r["Code"] for r in reasons)
        return {
            "__type": _TYPE_PREFIX + "TransactionCanceledException",
            "Message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
            "CancellationReasons": reasons,
        }
    tables = sorted({table for table, _ in over})
    return {
        "__type": _TYPE_PREFIX + "ProvisionedThroughputExceededException",
        "message": _THROTTLED_MESSAGE,
        "ThrottlingReasons": [
            {
                "reason": "TableWriteKeyRangeThroughputExceeded",
                "resource": f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{table}",
            }
            for table in tables
        ],
    }


def _region(environ: dict[str, Any]) -> str:
    """The region of the request's SigV4 credential scope (<key>/<date>/<region>/<service>/aws4_request)."""
    try:
        scope = str(environ.get("HTTP_AUTHORIZATION", "")).split("Credential=", 1)[1].split(",", 1)[0]
        return scope.split("/")[2]
    except IndexError:
        return "us-east-1"


def _peek_json(environ: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON body, left readable for the app that serves the request."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(data)
    try:
        body = json.loads(data or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
