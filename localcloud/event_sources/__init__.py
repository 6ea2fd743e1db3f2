"""The parts of AWS the local cloud runs itself around moto: event source mappings (SQS, DynamoDB
streams), schedules, EventBridge rules with function and state machine targets, and TTL expiry,
their waiting compressed by the time scale (`localcloud.timescale`).

The room's component (`EventSourcesService`) wires them after provisioning, in the process that runs the edge:

    sources = EventSources(app, edge_url=edge_url, invoke=invoke, time_scale=scale)
    sources.start()   # after provisioning ... sources.stop() before the edge stops
"""

from localcloud.event_sources.invocation import EVENT, REQUEST_RESPONSE, Invoke, InvokeOutcome
from localcloud.event_sources.sources import EventSources

__all__ = ["EVENT", "REQUEST_RESPONSE", "EventSources", "Invoke", "InvokeOutcome"]
