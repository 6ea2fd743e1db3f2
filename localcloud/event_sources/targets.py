"""Deliver an event to a target: what the target receives, and sending it there.

For EventBridge rules and schedule rules, as EventBridge does: the target's constant `Input`
replaces the event, its `InputPath` (JSONPath) selects part of it, its `InputTransformer` fills the
template from the event (with moto's own transformer, the one moto applies to the targets it
delivers itself), otherwise the whole event is sent. Lambda targets are invoked asynchronously
(InvocationType "Event": retrying a failing function is Lambda's job), Step Functions targets start
an execution, and queues, topics, buses and log groups receive the text as a message.

`run` delivers and waits for the outcome (`POST /_localcloud/schedules/run`): a function is invoked
synchronously, an execution is followed until it ends; the status is Step Functions' words (SUCCEEDED,
FAILED, TIMED_OUT, ABORTED; RUNNING if still running after `wait_seconds`), or DELIVERED for a message.
"""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import ClientError
from jsonpath_ng.ext import parse as parse_json_path
from moto.events.utils import EventTemplateParser

from localcloud.event_sources.destinations import Destinations, UnsupportedDestination
from localcloud.event_sources.invocation import EVENT, REQUEST_RESPONSE, Invoke
from localcloud.model import Target


class TargetNotDelivered(Exception):
    """A target did not accept the event (the function could not be invoked, the execution not started)."""


def target_input(target: Target, event: dict[str, Any]) -> str:
    """The JSON text an EventBridge rule target receives for `event`."""
    if target.input is not None:
        return target.input
    if target.input_path:
        matches = parse_json_path(target.input_path).find(event)
        # A path that selects nothing sends JSON null rather than dropping the event.
        return json.dumps(matches[0].value if matches else None)
    if target.input_transformer:
        transformer = target.input_transformer
        # moto's transformer also offers <aws.events.event.ingestion-time>, so it needs that field.
        enriched: Any = {"ingestion-time": time.time(), **event}
        try:
            transformed = EventTemplateParser.parse(
                input_template=transformer.get("InputTemplate"),  # type: ignore[arg-type]
                input_paths_map=transformer.get("InputPathsMap", {}),
                event=enriched,
            )
        except ValueError as error:
            raise TargetNotDelivered(f"the InputTemplate of {target.arn} does not give JSON: {error}") from error
        return json.dumps(transformed)
    return json.dumps(event)


class TargetDelivery:
    def __init__(
        self, *, invoke: Invoke, stepfunctions: Any, destinations: Destinations, wait_seconds: float = 300.0
    ) -> None:
        self._invoke = invoke
        self._stepfunctions = stepfunctions
        self._destinations = destinations
        self._wait_seconds = wait_seconds

    def deliver(self, target: Target, payload: str) -> None:
        """Send the text `payload` to `target`; raises TargetNotDelivered if the target did not take it."""
        if target.kind == "lambda":
            outcome = self._invoke(target.arn, payload.encode(), EVENT)
            if not 200 <= outcome.status_code < 300:
                detail = outcome.payload[:300].decode(errors="replace")
                raise TargetNotDelivered(f"{target.arn} answered {outcome.status_code}: {detail}")
            return
        try:
            if target.kind == "states":
                self._stepfunctions.start_execution(stateMachineArn=target.arn, input=payload)
            else:
                self._destinations.send(target.arn, payload)
        except (ClientError, UnsupportedDestination) as error:
            raise TargetNotDelivered(f"{target.arn}: {error}") from error

    def run(self, target: Target, payload: str) -> str:
        """Deliver `payload` to `target` and wait until it has been handled; its status (see the module doc)."""
        if target.kind == "lambda":
            outcome = self._invoke(target.arn, payload.encode(), REQUEST_RESPONSE)
            if not 200 <= outcome.status_code < 300:
                detail = outcome.payload[:300].decode(errors="replace")
                raise TargetNotDelivered(f"{target.arn} answered {outcome.status_code}: {detail}")
            return "SUCCEEDED" if outcome.function_error is None else "FAILED"
        if target.kind != "states":
            self.deliver(target, payload)
            return "DELIVERED"
        try:
            started = self._stepfunctions.start_execution(stateMachineArn=target.arn, input=payload)
            deadline = time.monotonic() + self._wait_seconds
            while True:
                status = str(self._stepfunctions.describe_execution(executionArn=started["executionArn"])["status"])
                if status != "RUNNING" or time.monotonic() > deadline:
                    return status
                time.sleep(0.1)
        except ClientError as error:
            raise TargetNotDelivered(f"{target.arn}: {error}") from error
