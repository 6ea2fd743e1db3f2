"""AWS errors and latency injected at the edge, answered exactly as the services answer them.

An edge interceptor (like `localcloud.dynamodb.partition_limit`): `matches` finds the request's service and
operation, draws each matching fault's probability, waits its latency, and claims the request when the
fault answers an error; `__call__` then answers it in the service's protocol:

- DynamoDB and Step Functions (JSON 1.0): `{"__type", "message"}`; botocore reads the code from `__type`;
- the RDS Data API (rest-json): `{"message"}` with the code in `x-amzn-ErrorType`.

botocore retries ProvisionedThroughputExceededException, InternalServerError and ThrottlingException by
itself, as it does against AWS: with a probability below 1, most calls still succeed after a retry.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from localcloud.faults.switches import AWS_ERRORS, AwsFault

_DYNAMODB_TYPE = "com.amazonaws.dynamodb.v20120810#"
_MESSAGES = {
    "ProvisionedThroughputExceededException": (
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API."
    ),
    "InternalServerError": "Internal server error",
    "DatabaseResumingException": (
        "The Aurora DB instance is resuming after being auto-paused. Please wait a few seconds and try again."
    ),
    "ThrottlingException": "Rate exceeded",
}
# The Data API's operations by path (it is rest-json: no X-Amz-Target).
_DATA_API_OPERATIONS = {
    "/Execute": "ExecuteStatement",
    "/BatchExecute": "BatchExecuteStatement",
    "/BeginTransaction": "BeginTransaction",
    "/CommitTransaction": "CommitTransaction",
    "/RollbackTransaction": "RollbackTransaction",
}
_ENVIRON_KEY = "localcloud.fault"


def operation_of(service: str, environ: dict[str, Any]) -> str:
    """The AWS operation a request calls (PutItem, StartExecution, ExecuteStatement, ...), or ""."""
    if service == "rds-data":
        return _DATA_API_OPERATIONS.get(str(environ.get("PATH_INFO", "")), "")
    return str(environ.get("HTTP_X_AMZ_TARGET", "")).rsplit(".", 1)[-1]


class AwsFaultInjector:
    def __init__(self, rng: random.Random | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._lock = threading.Lock()
        self._faults: tuple[AwsFault, ...] = ()
        self.injected: Counter[str] = Counter()

    def configure(self, faults: tuple[AwsFault, ...]) -> None:
        with self._lock:
            self._faults = faults

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.injected)

    def matches(self, service: str, environ: dict[str, Any]) -> bool:
        if service not in AWS_ERRORS:
            return False
        operation = operation_of(service, environ)
        met: list[AwsFault] = []
        with self._lock:
            for fault in self._faults:
                if fault.matches(service, operation) and self._rng.random() < fault.probability:
                    met.append(fault)
                    self.injected[fault.label] += 1
                    if fault.error is not None:
                        break  # the request is answered: the faults after it never meet it
        for fault in met:
            if fault.latency_ms:
                self._sleep(fault.latency_ms / 1000)
            if fault.error is not None:
                environ[_ENVIRON_KEY] = (service, fault.error)
                return True
        return False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        service, error = environ[_ENVIRON_KEY]
        status = AWS_ERRORS[service][error]
        headers = [("x-amzn-RequestId", "localcloud-fault")]
        if service == "rds-data":
            body = {"message": _MESSAGES[error]}
            headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", error)]
        else:
            prefix = _DYNAMODB_TYPE if service == "dynamodb" else ""
            body = {"__type": prefix + error, "message": _MESSAGES[error]}
            headers.append(("Content-Type", "application/x-amz-json-1.0"))
        data = json.dumps(body).encode()
        reason = "Bad Request" if status == 400 else "Internal Server Error"
        start_response(f"{status} {reason}", [*headers, ("Content-Length", str(len(data)))])
        return [data]
