"""The event sources room's component: SQS and stream pollers, schedules, EventBridge rule targets and TTL
expiry, started once the stack is provisioned and its functions run (a consumer).

It also serves `POST {edge}/_localcloud/schedules/run`: every scheduled job of the template run once, now,
answered 200 `{"ran": [{"rule", "target", "status"}]}` when all have finished (shared/API.md, "Local endpoints").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from localcloud.context import CloudContext
from localcloud.event_sources.invocation import InvokeOutcome
from localcloud.event_sources.sources import EventSources

RUN_SCHEDULES_PATH = "/_localcloud/schedules/run"


class EventSourcesService:
    def __init__(self) -> None:
        self._sources: EventSources | None = None

    def start(self, cloud: CloudContext) -> None:
        def invoke(function: str, payload: bytes, invocation_type: str) -> InvokeOutcome:
            result = cloud.runtime.invoke_api(function, payload, invocation_type)
            return InvokeOutcome(result.status_code, result.payload, result.function_error)

        self._sources = EventSources(cloud.app, edge_url=cloud.edge_url, invoke=invoke, time_scale=cloud.time_scale)
        self._sources.start()
        cloud.edge.intercept(lambda _service, environ: environ.get("PATH_INFO") == RUN_SCHEDULES_PATH, self._run)

    def stop(self) -> None:
        if self._sources is not None:
            self._sources.stop()
            self._sources = None

    def _run(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        sources = self._sources
        body: dict[str, Any]
        if environ.get("REQUEST_METHOD") != "POST":
            status, body = "405 Method Not Allowed", {"message": f"only POST runs the schedules ({RUN_SCHEDULES_PATH})"}
        elif sources is None:
            status, body = "503 Service Unavailable", {"message": "the event sources are stopped"}
        else:
            status, body = "200 OK", {"ran": sources.run_schedules()}
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]
