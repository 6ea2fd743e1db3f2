"""boto3 clients that reach the local services through the edge, shared by every event source.

The event sources talk to moto the way any AWS client does (through the edge, signed), so moto
stays the single owner of queues, streams, rules and tables. One session per `EventSources`:
boto3 sessions are not thread-safe to create clients from, the clients themselves are.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config

from localcloud.aws import edge_session

# Pollers, batch workers and deliveries share each client; keep enough connections for all of them.
_CLIENT_CONFIG = Config(
    connect_timeout=5,
    # Longer than the longest call made here (an SQS long poll of a few seconds).
    read_timeout=60,
    retries={"mode": "standard", "max_attempts": 3},
    max_pool_connections=64,
)


class EdgeClients:
    def __init__(self, edge_url: str, region: str) -> None:
        self._session = edge_session(region)
        self._edge_url = edge_url
        self.sqs: Any = self._client("sqs")
        self.dynamodb: Any = self._client("dynamodb")
        self.dynamodbstreams: Any = self._client("dynamodbstreams")
        self.events: Any = self._client("events")
        self.stepfunctions: Any = self._client("stepfunctions")
        self.sns: Any = self._client("sns")
        self.logs: Any = self._client("logs")

    def close(self) -> None:
        """Close every client's connections to the edge."""
        for client in (
            self.sqs,
            self.dynamodb,
            self.dynamodbstreams,
            self.events,
            self.stepfunctions,
            self.sns,
            self.logs,
        ):
            client.close()

    def _client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self._edge_url, config=_CLIENT_CONFIG)  # type: ignore[call-overload]
