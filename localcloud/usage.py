"""What the local cloud was asked to do, counted the way AWS bills it: API calls per service and
operation (seen at the edge) and Lambda invocations with their duration and memory (seen by the runtime).

The benchmarks read it to turn one order into billable units: `GET <edge>/_localcloud/usage` answers
the counts since start (or since the last `DELETE <edge>/_localcloud/usage`, which resets them).
Only local-cloud traffic is counted; nothing here is part of any AWS API.
"""

from __future__ import annotations

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

    def record_call(self, service: str, environ: dict[str, Any]) -> None:
        key = f"{service}:{operation_of(environ)}"
        with self._lock:
            self._calls[key] += 1

    def record_invocation(self, function: str, memory_mb: int, duration_ms: float) -> None:
        with self._lock:
            stats = self._invocations.setdefault(function, _Invocations(memory_mb=memory_mb))
            stats.count += 1
            stats.duration_ms += duration_ms

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": dict(self._calls),
                "invocations": {
                    name: {"count": s.count, "durationMs": round(s.duration_ms, 3), "memoryMb": s.memory_mb}
                    for name, s in self._invocations.items()
                },
            }

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._invocations.clear()

    @staticmethod
    def matches(service: str, environ: dict[str, Any]) -> bool:
        return str(environ.get("PATH_INFO", "")) == USAGE_PATH

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "DELETE":
            self.reset()
        body = json.dumps(self.snapshot()).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


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
