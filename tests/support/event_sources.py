"""Shared fakes for the event-source, schedule and Step Functions tests (no tests here): an edge on a
random port, clients for it, a recording `invoke` and an app model builder."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from localcloud.edge import EdgeApp
from localcloud.event_sources import InvokeOutcome
from localcloud.model import LocalApp
from localcloud.server import BackgroundServer
from tests.support.waiting import wait_until

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@contextmanager
def running_edge(edge: EdgeApp | None = None) -> Iterator[str]:
    """An edge on a random free port; yields its URL."""
    with BackgroundServer(edge or EdgeApp(), name=unique("edge")) as server:
        yield server.url


def client(edge_url: str, service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=edge_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )


def local_app(**models: Any) -> LocalApp:
    """An app model holding only what a test names (queue_sources, stream_sources, schedules, rules)."""
    return LocalApp(
        region=REGION,
        account_id=ACCOUNT_ID,
        stack_name="event-sources-test",
        template_dir=Path("."),
        resources={},
        physical_ids={},
        outputs={},
        **models,
    )


@dataclass
class Call:
    function: str
    event: Any
    invocation_type: str


Responder = Callable[[Call], InvokeOutcome]


def ok(payload: Any = None) -> InvokeOutcome:
    return InvokeOutcome(200, b"" if payload is None else json.dumps(payload).encode())


def function_error(message: str = "boom") -> InvokeOutcome:
    body = {"errorMessage": message, "errorType": "RuntimeError", "stackTrace": []}
    return InvokeOutcome(200, json.dumps(body).encode(), "Unhandled")


@dataclass
class RecordingInvoke:
    """A fake `invoke`: records every call and answers with `responder` (success with no payload by default)."""

    responder: Responder = field(default=lambda call: ok())
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, function: str, payload: bytes, invocation_type: str) -> InvokeOutcome:
        call = Call(function, json.loads(payload), invocation_type)
        with self._lock:
            self.calls.append(call)
        return self.responder(call)

    def snapshot(self) -> list[Call]:
        with self._lock:
            return list(self.calls)

    def wait_for_calls(self, count: int) -> list[Call]:
        return wait_until(lambda: len(self.snapshot()) >= count and self.snapshot(), what=f"{count} invocations")
