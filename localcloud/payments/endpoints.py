"""Registered webhook endpoints (`we_...`): where events are delivered and the secret each one is signed with.

Endpoints come from the constructor (`webhook_url`), from code (`PaymentsSandbox.add_webhook_endpoint`) or
from the API (`POST /v1/webhook_endpoints`); Stripe reveals an endpoint's `secret` only when it is created.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from localcloud.payments.ids import new_id


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    url: str
    secret: str
    enabled_events: tuple[str, ...] = ("*",)
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    created: int = field(default_factory=lambda: int(time.time()))

    def listens_to(self, event_type: str) -> bool:
        return "*" in self.enabled_events or event_type in self.enabled_events

    def to_json(self, *, with_secret: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "webhook_endpoint",
            "api_version": None,
            "application": None,
            "created": self.created,
            "description": self.description,
            "enabled_events": list(self.enabled_events),
            "livemode": False,
            "metadata": dict(self.metadata),
            "status": "enabled",
            "url": self.url,
        }
        if with_secret:
            body["secret"] = self.secret
        return body


class WebhookEndpoints:
    """Thread-safe registry, in creation order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._endpoints: dict[str, WebhookEndpoint] = {}

    def add(
        self,
        url: str,
        *,
        secret: str | None = None,
        enabled_events: Sequence[str] = ("*",),
        description: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> WebhookEndpoint:
        endpoint = WebhookEndpoint(
            id=new_id("we"),
            url=url,
            secret=secret or new_id("whsec", 32),
            enabled_events=tuple(enabled_events),
            description=description,
            metadata=dict(metadata or {}),
        )
        with self._lock:
            self._endpoints[endpoint.id] = endpoint
        return endpoint

    def remove(self, endpoint_id: str) -> WebhookEndpoint | None:
        with self._lock:
            return self._endpoints.pop(endpoint_id, None)

    def get(self, endpoint_id: str) -> WebhookEndpoint | None:
        with self._lock:
            return self._endpoints.get(endpoint_id)

    def all(self) -> list[WebhookEndpoint]:
        with self._lock:
            return list(self._endpoints.values())

    def listening_to(self, event_type: str) -> list[WebhookEndpoint]:
        return [endpoint for endpoint in self.all() if endpoint.listens_to(event_type)]
