"""What the local cloud was asked to do, counted the way AWS bills it: API calls per service and
operation (seen at the edge) and Lambda invocations with their duration and memory (seen by the runtime).

The benchmarks read it to turn one order into billable units: `GET <edge>/_localcloud/usage` answers
the counts since start (or since the last `DELETE <edge>/_localcloud/usage`, which resets them).
Only local-cloud traffic is counted; nothing here is part of any AWS API.
"""

from __future__ import annotations

import io
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

USAGE_PATH = "/_localcloud/usage"

# REST-JSON operations by path, for the services that have no X-Amz-Target header.
_REST_OPERATIONS = {
    "/Execute": "ExecuteStatement",
    "/BatchExecute": "BatchExecuteStatement",
    "/BeginTransaction": "BeginTransaction",
    "/CommitTransaction": "CommitTransaction",
    "/RollbackTransaction": "RollbackTransaction",
}


@dataclass
class _Invocations:
    count: int = 0
    duration_ms: float = 0.0
    memory_mb: int = 0


class Usage:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._invocations: dict[str, _Invocations] = {}
        self._units: dict[str, float] = {}  # DynamoDB "read" and "write" request units

    def record_call(self, service: str, environ: dict[str, Any]) -> None:
        operation = operation_of(environ)
        units = _dynamodb_request_units(operation, environ) if service == "dynamodb" else None
        with self._lock:
            self._calls[f"{service}:{operation}"] += 1
            if units is not None:
                self._units[units[0]] = self._units.get(units[0], 0) + units[1]

    def record_invocation(self, function: str, memory_mb: int, duration_ms: float) -> None:
        with self._lock:
            stats = self._invocations.setdefault(function, _Invocations(memory_mb=memory_mb))
            stats.count += 1
            stats.duration_ms += duration_ms

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": dict(self._calls),
                "dynamodbRequestUnits": dict(self._units),
                "invocations": {
                    name: {"count": s.count, "durationMs": round(s.duration_ms, 3), "memoryMb": s.memory_mb}
                    for name, s in self._invocations.items()
                },
            }

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._invocations.clear()
            self._units.clear()

    @staticmethod
    def matches(service: str, environ: dict[str, Any]) -> bool:
        return str(environ.get("PATH_INFO", "")) == USAGE_PATH

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "DELETE":
            self.reset()
        body = json.dumps(self.snapshot()).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


# On-demand request units per item, for items of at most 1 KB (writes) and 4 KB (reads); transactions
# cost twice. Queries and scans are counted as one read unit per call: their cost depends on the data read.
_WRITES = {"PutItem": 1, "UpdateItem": 1, "DeleteItem": 1}
_READS = {"GetItem": 1, "Query": 1, "Scan": 1}


def _dynamodb_request_units(operation: str, environ: dict[str, Any]) -> tuple[str, float] | None:
    if operation in _WRITES:
        return "write", _WRITES[operation]
    if operation in _READS:
        return "read", _READS[operation]
    if operation not in ("BatchGetItem", "BatchWriteItem", "TransactWriteItems", "TransactGetItems"):
        return None
    body = _peek_json(environ)
    if operation == "BatchGetItem":
        return "read", sum(len(spec.get("Keys", [])) for spec in body.get("RequestItems", {}).values())
    if operation == "BatchWriteItem":
        return "write", sum(len(requests) for requests in body.get("RequestItems", {}).values())
    kind = "write" if operation == "TransactWriteItems" else "read"
    return kind, 2 * len(body.get("TransactItems", []))


def _peek_json(environ: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON body, leaving it readable for the app that serves the request."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(data)
    try:
        body = json.loads(data or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def operation_of(environ: dict[str, Any]) -> str:
    """The API operation of a request: X-Amz-Target's, a REST path's, or a query protocol's Action."""
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return target.rsplit(".", 1)[-1]
    path = str(environ.get("PATH_INFO", ""))
    if path in _REST_OPERATIONS:
        return _REST_OPERATIONS[path]
    if path.startswith("/2015-03-31/functions/") and path.rstrip("/").endswith("/invocations"):
        return "Invoke"
    action = parse_qs(str(environ.get("QUERY_STRING", ""))).get("Action")
    if action:
        return action[0]
    return f"{environ.get('REQUEST_METHOD', '')} {path.split('/')[1] if path.count('/') else path}".strip()
