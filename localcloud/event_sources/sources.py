"""All event sources of one app, started and stopped together: the parts of AWS that moto does not run.

Built from the app model (`LocalApp`): a poller per enabled SQS and DynamoDB stream mapping, one
scheduler for every schedule (rules' and EventBridge Scheduler's), a relay per target of every
EventBridge pattern rule, and the TTL sweeper.
`start()` does the set-up that can fail (queues, streams and rules must exist; expressions must
parse) before any thread runs, and takes stream iterators before returning, so a record written
after `start()` is delivered. `stop()` signals every thread, waits for all of them (finishing the
batches already taken) and leaves nothing running. Stop the event sources before the edge.
`run_schedules()` runs every schedule once, now, and waits for its targets (`_localcloud/schedules/run`).
"""

from __future__ import annotations

import logging

from localcloud.event_sources.background import BackgroundLoop
from localcloud.event_sources.clients import EdgeClients
from localcloud.event_sources.destinations import Destinations
from localcloud.event_sources.invocation import Invoke
from localcloud.event_sources.rules import RuleTargetRelay, detach_schedule_targets, ensure_rule
from localcloud.event_sources.schedules import Scheduler
from localcloud.event_sources.sqs import QueuePoller
from localcloud.event_sources.streams import StreamPoller
from localcloud.event_sources.targets import TargetDelivery
from localcloud.event_sources.ttl import SWEEP_INTERVAL_SECONDS, TtlSweeper
from localcloud.model import LocalApp
from localcloud.timescale import ScaledClock, validate_time_scale

logger = logging.getLogger(__name__)

# Lambda starts five pollers per SQS mapping; without MaximumConcurrency, keep that many batches in flight.
DEFAULT_QUEUE_CONCURRENCY = 5


class EventSources:
    def __init__(self, app: LocalApp, *, edge_url: str, invoke: Invoke, time_scale: float = 1.0) -> None:
        self._app = app
        self._invoke = invoke
        self._time_scale = validate_time_scale(time_scale)
        self._clients = EdgeClients(edge_url, app.region)
        self._loops: list[BackgroundLoop] = []
        self._started = False
        self._scheduler: Scheduler | None = None
        self._delivery: TargetDelivery | None = None

    def __enter__(self) -> EventSources:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._started:
            raise RuntimeError("event sources already started")
        self._started = True
        try:
            for loop in self._build():
                loop.start()
                self._loops.append(loop)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        loops, self._loops = self._loops, []
        for loop in loops:
            loop.stop()
        for loop in loops:
            loop.join()
        self._clients.close()

    def run_schedules(self) -> list[dict[str, str]]:
        """Every enabled schedule's targets run once, now, each waited for: `[{"rule", "target", "status"}]`."""
        if self._scheduler is None or self._delivery is None:
            return []
        return self._scheduler.run_now(self._delivery)

    def _build(self) -> list[BackgroundLoop]:
        app, clients = self._app, self._clients
        destinations = Destinations(clients)
        delivery = TargetDelivery(invoke=self._invoke, stepfunctions=clients.stepfunctions, destinations=destinations)
        self._delivery = delivery
        loops: list[BackgroundLoop] = []
        for queue_source in app.queue_sources:
            if queue_source.enabled:
                loops.append(
                    QueuePoller(
                        queue_source,
                        sqs=clients.sqs,
                        invoke=self._invoke,
                        function_name=self._function_name(queue_source.function),
                        region=app.region,
                        concurrency=self._queue_concurrency(queue_source.function, queue_source.maximum_concurrency),
                    )
                )
        for stream_source in app.stream_sources:
            if stream_source.enabled:
                loops.append(
                    StreamPoller(
                        stream_source,
                        dynamodb=clients.dynamodb,
                        streams=clients.dynamodbstreams,
                        destinations=destinations,
                        invoke=self._invoke,
                        function_name=self._function_name(stream_source.function),
                        function_arn=self._function_arn(stream_source.function),
                        region=app.region,
                    )
                )
        for schedule in app.schedules:
            if schedule.group is None:
                # A schedule rule in moto would match every event on the default bus (it has no pattern).
                detach_schedule_targets(clients.events, schedule.name)
        if app.schedules:
            self._scheduler = Scheduler(
                app.schedules,
                delivery=delivery,
                clock=ScaledClock(self._time_scale),
                region=app.region,
                account_id=app.account_id,
            )
            loops.append(self._scheduler)
        for rule in app.rules:
            ensure_rule(clients.events, rule)
            for index, target in enumerate(rule.targets):
                relay = RuleTargetRelay(
                    rule, index, target, sqs=clients.sqs, delivery=delivery, account_id=app.account_id
                )
                relay.attach(clients.events)
                loops.append(relay)
        loops.append(TtlSweeper(clients.dynamodb, interval_seconds=SWEEP_INTERVAL_SECONDS / self._time_scale))
        return loops

    def _function_name(self, reference: str) -> str:
        """The name Invoke takes for a mapping's function (the model may hold a logical id, a name or an ARN)."""
        function = self._app.function_by_name_or_arn(reference)
        return function.name if function is not None else reference

    def _function_arn(self, reference: str) -> str:
        function = self._app.function_by_name_or_arn(reference)
        if function is not None:
            return function.arn
        if reference.startswith("arn:"):
            return reference
        return f"arn:aws:lambda:{self._app.region}:{self._app.account_id}:function:{reference}"

    def _queue_concurrency(self, reference: str, maximum_concurrency: int | None) -> int:
        if maximum_concurrency is not None:
            return max(1, maximum_concurrency)
        function = self._app.function_by_name_or_arn(reference)
        reserved = function.reserved_concurrency if function is not None else None
        if reserved is not None and reserved > 0:
            return min(DEFAULT_QUEUE_CONCURRENCY, reserved)
        return DEFAULT_QUEUE_CONCURRENCY
