"""How the event sources run a function: the `invoke` callable the local cloud hands them, and its result.

The event sources never run handler code themselves. They call `invoke(function_name_or_arn, payload,
invocation_type)` exactly as Lambda's Invoke API would be called ("RequestResponse" for pollers, which
need the response to settle a batch; "Event" for EventBridge and schedules, which AWS invokes
asynchronously), and read the outcome as Lambda reports it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

REQUEST_RESPONSE = "RequestResponse"
EVENT = "Event"


class InvokeOutcome(NamedTuple):
    """What Lambda's Invoke returns: the HTTP status, the payload, and `X-Amz-Function-Error` if any."""

    status_code: int
    payload: bytes
    function_error: str | None = None

    @property
    def succeeded(self) -> bool:
        """The service accepted the call (2xx) and the function did not raise."""
        return 200 <= self.status_code < 300 and self.function_error is None

    def json(self) -> Any:
        """The payload parsed as JSON; an empty payload is None (a handler that returned nothing)."""
        return json.loads(self.payload) if self.payload.strip() else None


Invoke = Callable[[str, bytes, str], InvokeOutcome]
