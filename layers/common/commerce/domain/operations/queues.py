"""The stack's SQS queues as operators see them (`GET /admin/queues`) and the redrive of a dead-letter queue
(`POST /admin/queues/{queueName}/redrive`).

Queues are named by the stack (the `QUEUES` setting: name -> queue URL and dead-letter queue URL), not
found by listing the account. A redrive moves messages from a queue's dead-letter queue back to the queue,
a bounded number per call; each message is sent before it is deleted, so a redrive that dies midway leaves a
message in both queues (delivered twice), never in neither. Consumers are idempotent (an SQS queue delivers
at least once anyway), so that is safe; a repeated redrive moves what is left, and 0 once the queue is empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from commerce.domain.errors import NotFound

MAX_REDRIVE_PER_CALL = 1000


class QueueAddress(BaseModel):
    """One queue of the stack and its dead-letter queue, by URL."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    url: str = Field(min_length=1)
    dead_letter_url: str = Field(alias="deadLetterUrl", min_length=1)


@dataclass(frozen=True)
class QueueCounts:
    visible: int  # waiting to be received
    in_flight: int  # received, not yet deleted (being processed)
    delayed: int


@dataclass(frozen=True)
class QueueStats:
    name: str
    queue: QueueCounts
    dead_letters: QueueCounts

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "depth": self.queue.visible,
            "inFlight": self.queue.in_flight,
            "delayed": self.queue.delayed,
            "deadLetterDepth": self.dead_letters.visible,
            "deadLetterInFlight": self.dead_letters.in_flight,
        }


class Queues(Protocol):
    def counts(self, url: str) -> QueueCounts: ...

    def move(self, source_url: str, target_url: str, max_messages: int) -> int:
        """Move up to `max_messages` visible messages from `source_url` to `target_url`; how many moved."""
        ...


class UnknownQueue(NotFound):
    pass


def queue_stats(queues: Queues, addresses: Mapping[str, QueueAddress], names: Sequence[str]) -> list[QueueStats]:
    return [
        QueueStats(name, queues.counts(addresses[name].url), queues.counts(addresses[name].dead_letter_url))
        for name in names
    ]


def redrive(queues: Queues, addresses: Mapping[str, QueueAddress], name: str, max_messages: int) -> int:
    """Move up to `max_messages` dead letters of queue `name` back to it; 404 for a queue the stack lacks."""
    address = addresses.get(name)
    if address is None:
        raise UnknownQueue(f"No queue named {name!r}; GET /admin/queues lists them")
    return queues.move(address.dead_letter_url, address.url, max_messages)
