"""The `QUEUES` setting shared by the queue functions: a JSON object, queue name -> {url, deadLetterUrl}
(built in template.yaml with !Sub from the queues' own references)."""

from __future__ import annotations

from pydantic import Field, Json

from commerce.domain.operations.queues import QueueAddress
from commerce.settings import FunctionSettings


class QueuesSettings(FunctionSettings):
    queues: Json[dict[str, QueueAddress]] = Field(alias="QUEUES")
