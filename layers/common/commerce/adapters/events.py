"""EventBridge: the commerce domain events (commerce.domain.events) on the stack's bus (`CommerceEventBus`).

Each event is one entry: `source` `commerce`, `detail-type` the event, `detail` its JSON with its `version`
first (schemas: events/schemas/). PutEvents can accept a request and still fail an entry; a failed entry is
raised, so that the caller (a workflow step, retried) publishes it again: delivery is at least once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from commerce.domain.events import versioned

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient


SOURCE = "commerce"


class EventNotPublished(Exception):
    """EventBridge refused the entry (throttled, internal failure): publish it again."""


@cache
def events_client() -> EventBridgeClient:
    import boto3  # imported here so that module import stays light (cold start)

    return boto3.client("events")


class EventBridgeEvents:
    """`DomainEvents` on one bus."""

    def __init__(self, bus_name: str, client: EventBridgeClient | None = None) -> None:
        self.bus_name = bus_name
        self._client = client

    @property
    def client(self) -> EventBridgeClient:
        return self._client or events_client()

    def publish(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        response = self.client.put_events(
            Entries=[
                {
                    "EventBusName": self.bus_name,
                    "Source": SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(versioned(detail_type, detail), separators=(",", ":")),
                }
            ]
        )
        if response.get("FailedEntryCount"):
            entry = response["Entries"][0]
            raise EventNotPublished(f"{detail_type}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")
