"""The CloudFormation custom-resource protocol, as the migration function speaks it: always answer.

CloudFormation waits for a custom resource's answer (a PUT of a JSON document to the presigned S3
`ResponseURL`) for up to an hour. A handler that raises, or that the Lambda timeout kills, never answers,
and the stack hangs. So `answer_custom_resource`:
- runs the work for Create and Update, and for Delete only the `on_delete` work given (the migrations
  give none: dropping the schema with the stack would be the database's job, not a migration's);
- answers SUCCESS with the work's data, or FAILED with the error, whatever went wrong (this is the one
  place where catching every exception is right: the answer must go out);
- arms a watchdog that answers FAILED shortly before the invocation times out;
- answers exactly once, and retries the PUT on network errors.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from commerce.adapters.orders_db.retry import LambdaContextLike
from commerce.observability import logger

SUCCESS = "SUCCESS"
FAILED = "FAILED"
MAX_REASON_CHARS = 1000  # the whole answer must stay under CloudFormation's 4 KiB
PUT_TIMEOUT_SECONDS = 10
PUT_ATTEMPTS = 3

Put = Callable[[str, bytes], None]


@dataclass(frozen=True)
class CustomResourceRequest:
    request_type: str  # Create, Update or Delete
    response_url: str
    stack_id: str
    request_id: str
    logical_resource_id: str
    physical_resource_id: str | None
    properties: Mapping[str, Any]

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> CustomResourceRequest:
        return cls(
            request_type=str(event["RequestType"]),
            response_url=str(event["ResponseURL"]),
            stack_id=str(event["StackId"]),
            request_id=str(event["RequestId"]),
            logical_resource_id=str(event["LogicalResourceId"]),
            physical_resource_id=event.get("PhysicalResourceId"),
            properties=event.get("ResourceProperties") or {},
        )


def put_response(url: str, body: bytes) -> None:
    """PUT the answer to the presigned URL. Content-Type must be empty: it is part of the S3 signature."""
    if urlparse(url).scheme not in ("https", "http"):
        raise ValueError(f"not an http(s) response URL: {url[:40]}")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked just above
        url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=PUT_TIMEOUT_SECONDS):  # noqa: S310
        pass


class _Answer:
    """Sends the one answer of one request, whoever asks first (the work or the watchdog)."""

    def __init__(self, request: CustomResourceRequest, physical_resource_id: str, put: Put) -> None:
        self._request = request
        self._physical_resource_id = physical_resource_id
        self._put = put
        self._lock = threading.Lock()
        self.sent: str | None = None

    def send(self, status: str, reason: str = "", data: Mapping[str, str] | None = None) -> None:
        with self._lock:
            if self.sent is not None:
                return
            self.sent = status
            body = json.dumps(
                {
                    "Status": status,
                    "Reason": reason[:MAX_REASON_CHARS] or status,
                    "PhysicalResourceId": self._physical_resource_id,
                    "StackId": self._request.stack_id,
                    "RequestId": self._request.request_id,
                    "LogicalResourceId": self._request.logical_resource_id,
                    "NoEcho": False,
                    "Data": dict(data or {}),
                }
            ).encode()
            for attempt in range(1, PUT_ATTEMPTS + 1):
                try:
                    self._put(self._request.response_url, body)
                    logger.info("custom resource answered", extra={"status": status})
                    return
                except (urllib.error.URLError, OSError) as error:
                    logger.warning("answering CloudFormation failed", extra={"attempt": attempt, "error": str(error)})
                    time.sleep(attempt)
            logger.error("CloudFormation could not be answered; the stack waits for its timeout")


def answer_custom_resource(
    event: Mapping[str, Any],
    context: LambdaContextLike,
    work: Callable[[CustomResourceRequest], Mapping[str, str]],
    physical_resource_id: str,
    *,
    put: Put = put_response,
    reserve_seconds: float = 10.0,
    on_delete: Callable[[CustomResourceRequest], Mapping[str, str]] | None = None,
) -> str:
    """Run `work` for Create/Update and answer CloudFormation; the status sent (SUCCESS or FAILED)."""
    request = CustomResourceRequest.from_event(event)
    # Update and Delete must keep the id CloudFormation knows, or it would replace (delete) the resource.
    answer = _Answer(request, request.physical_resource_id or physical_resource_id, put)
    deadline = max(0.0, context.get_remaining_time_in_millis() / 1000 - reserve_seconds)
    watchdog = threading.Timer(deadline, answer.send, args=(FAILED, "The work did not finish in time"))
    watchdog.daemon = True
    watchdog.start()
    try:
        if request.request_type in ("Create", "Update"):
            data = work(request)
        elif request.request_type == "Delete":
            data = on_delete(request) if on_delete else {}
        else:
            raise ValueError(f"unknown RequestType {request.request_type!r}")
        answer.send(SUCCESS, data=data)
    except Exception as error:  # every failure must still answer, or the stack hangs for an hour
        logger.exception("custom resource failed", extra={"request_type": request.request_type})
        answer.send(FAILED, reason=f"{type(error).__name__}: {error}")
    finally:
        watchdog.cancel()
    return answer.sent or FAILED
