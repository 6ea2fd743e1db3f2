"""The fault switches as plain data: what `PUT /_localcloud/faults` takes and `GET` shows.

    {"kills": [{"function": "CreateCheckoutFunction", "probability": 0.2}],
     "aws": [{"service": "dynamodb", "operation": "TransactWriteItems",
              "error": "ProvisionedThroughputExceededException", "probability": 0.1, "latencyMs": 0}],
     "payments": {"faults": [...], "webhooks": {...}}}     # localcloud.payments.switches' shape

- a kill: each invocation of `function` (logical id or name) is, with `probability`, killed (SIGKILL of its
  worker) at a random point of its handler;
- an AWS fault: each request to `service` (the SigV4 signing name: dynamodb, rds-data, states) and, when given,
  `operation` (e.g. PutItem, ExecuteStatement, StartExecution) meets it with `probability`: it waits
  `latencyMs`, then is answered `error` (one of `AWS_ERRORS`, as the service answers it) or, without an
  error, goes on to the service (latency only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The errors an AWS fault can answer, per service, with their HTTP status (as the services send them).
AWS_ERRORS: dict[str, dict[str, int]] = {
    "dynamodb": {"ProvisionedThroughputExceededException": 400, "InternalServerError": 500},
    "rds-data": {"DatabaseResumingException": 400},
    "states": {"ThrottlingException": 400},
}


class InvalidFaults(ValueError):
    """Switches that are not valid (answered 400 by the endpoint, exit 2 by the CLI)."""


def _probability(raw: dict[str, Any]) -> float:
    value = raw.get("probability", 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidFaults("probability must be a number from 0 to 1")
    return float(value)


def _only(raw: Any, what: str, fields: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidFaults(f"{what} is a JSON object")
    unknown = set(raw) - fields
    if unknown:
        raise InvalidFaults(f"unknown {what} fields: {sorted(unknown)}")
    return raw


@dataclass(frozen=True)
class KillSwitch:
    function: str
    probability: float = 1.0

    @staticmethod
    def from_json(raw: Any) -> KillSwitch:
        raw = _only(raw, "kill", {"function", "probability"})
        function = raw.get("function")
        if not isinstance(function, str) or not function:
            raise InvalidFaults("a kill names its function")
        return KillSwitch(function, _probability(raw))

    def to_json(self) -> dict[str, Any]:
        return {"function": self.function, "probability": self.probability}


@dataclass(frozen=True)
class AwsFault:
    service: str
    operation: str | None = None  # None: every operation of the service
    error: str | None = None  # None: latency only
    probability: float = 1.0
    latency_ms: int = 0

    @property
    def label(self) -> str:
        """How its count is named: service:operation:error (`*` any operation, `latency` for no error)."""
        return f"{self.service}:{self.operation or '*'}:{self.error or 'latency'}"

    def matches(self, service: str, operation: str) -> bool:
        return service == self.service and self.operation in (None, operation)

    @staticmethod
    def from_json(raw: Any) -> AwsFault:
        raw = _only(raw, "aws fault", {"service", "operation", "error", "probability", "latencyMs"})
        service = raw.get("service")
        if service not in AWS_ERRORS:
            raise InvalidFaults(f"service must be one of {sorted(AWS_ERRORS)}")
        operation = raw.get("operation")
        if operation is not None and (not isinstance(operation, str) or not operation.isalnum()):
            raise InvalidFaults("operation is an AWS operation name, e.g. PutItem")
        error = raw.get("error")
        if error is not None and error not in AWS_ERRORS[service]:
            raise InvalidFaults(f"{service} errors are {sorted(AWS_ERRORS[service])}")
        latency = raw.get("latencyMs", 0)
        if isinstance(latency, bool) or not isinstance(latency, int) or not 0 <= latency <= 60_000:
            raise InvalidFaults("latencyMs must be an integer from 0 to 60000")
        if error is None and latency == 0:
            raise InvalidFaults("an aws fault gives an error, a latencyMs, or both")
        return AwsFault(service, operation, error, _probability(raw), latency)

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "error": self.error,
            "probability": self.probability,
            "latencyMs": self.latency_ms,
        }


@dataclass(frozen=True)
class FaultSwitches:
    kills: tuple[KillSwitch, ...] = ()
    aws: tuple[AwsFault, ...] = ()
    payments: Any = None  # the payments sandbox's switches as JSON (validated by the sandbox); None: unchanged

    @staticmethod
    def from_json(raw: Any) -> FaultSwitches:
        raw = _only(raw, "fault switches", {"kills", "aws", "payments"})
        kills, aws = raw.get("kills", []), raw.get("aws", [])
        if not isinstance(kills, list) or not isinstance(aws, list):
            raise InvalidFaults("kills and aws are lists")
        return FaultSwitches(
            kills=tuple(KillSwitch.from_json(k) for k in kills),
            aws=tuple(AwsFault.from_json(a) for a in aws),
            payments=raw.get("payments"),
        )
