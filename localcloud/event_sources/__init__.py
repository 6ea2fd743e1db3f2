"""The parts of AWS the local cloud runs itself around moto: event source mappings (SQS, DynamoDB
streams), schedules, EventBridge rules with function and state machine targets, TTL expiry, real
Step Functions executions, and the time scale that compresses their waiting.

The local cloud wires them in two calls, in the process that runs the edge:

    enable_stepfunctions_execution(edge_url, time_scale=scale)   # before provisioning
    sources = EventSources(app, edge_url=edge_url, invoke=invoke, time_scale=scale)
    sources.start()   # after provisioning ... sources.stop() before the edge stops
"""

from localcloud.event_sources.invocation import EVENT, REQUEST_RESPONSE, Invoke, InvokeOutcome
from localcloud.event_sources.sources import EventSources
from localcloud.event_sources.stepfunctions import enable_stepfunctions_execution
from localcloud.event_sources.timescale import set_stepfunctions_time_scale, time_scale_from_env

__all__ = [
    "EVENT",
    "REQUEST_RESPONSE",
    "EventSources",
    "Invoke",
    "InvokeOutcome",
    "enable_stepfunctions_execution",
    "set_stepfunctions_time_scale",
    "time_scale_from_env",
]
