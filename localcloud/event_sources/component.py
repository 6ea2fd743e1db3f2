"""The event sources room's component: SQS and stream pollers, schedules, EventBridge rule targets and TTL
expiry, started once the stack is provisioned and its functions run (a consumer)."""

from __future__ import annotations

from localcloud.context import CloudContext
from localcloud.event_sources.invocation import InvokeOutcome
from localcloud.event_sources.sources import EventSources


class EventSourcesService:
    def __init__(self) -> None:
        self._sources: EventSources | None = None

    def start(self, cloud: CloudContext) -> None:
        def invoke(function: str, payload: bytes, invocation_type: str) -> InvokeOutcome:
            result = cloud.runtime.invoke_api(function, payload, invocation_type)
            return InvokeOutcome(result.status_code, result.payload, result.function_error)

        self._sources = EventSources(cloud.app, edge_url=cloud.edge_url, invoke=invoke, time_scale=cloud.time_scale)
        self._sources.start()

    def stop(self) -> None:
        if self._sources is not None:
            self._sources.stop()
