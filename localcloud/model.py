"""The app described by template.yaml, resolved into plain data the local services can run.

The loader (`localcloud.template`) builds one `LocalApp` from the transformed template; the edge,
the Lambda runtime, the HTTP API router and the event-source pollers only read it. Nothing here is
written by hand for this project: every route, table, queue and function comes from the template.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LambdaFunction:
    logical_id: str  # e.g. "AddCartLineFunction"
    name: str  # the physical FunctionName (what Invoke, ARNs and Step Functions use)
    arn: str
    handler: str  # "app.lambda_handler"
    code_dir: Path  # the function's CodeUri, absolute
    layer_dirs: tuple[Path, ...]  # each layer's ContentUri, absolute, in template order
    environment: dict[str, str]  # resolved Environment.Variables
    timeout_seconds: int
    memory_mb: int
    reserved_concurrency: int | None  # ReservedConcurrentExecutions, when set


@dataclass(frozen=True)
class HttpRoute:
    method: str  # "GET", ..., or "ANY"
    path: str  # API Gateway form: "/cart/lines/{sku}", "/{proxy+}"
    function: str  # logical id of the target function
    authorizer: str | None  # name of a JWT authorizer, or None for an open route
    authorization_scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class JwtAuthorizer:
    name: str
    identity_source: str  # "$request.header.Authorization"
    issuer: str  # resolved, e.g. https://cognito-idp.<region>.amazonaws.com/<poolId>
    audience: tuple[str, ...]


@dataclass(frozen=True)
class HttpApi:
    logical_id: str
    routes: tuple[HttpRoute, ...]
    authorizers: dict[str, JwtAuthorizer]
    cors: dict[str, Any] | None  # the CorsConfiguration as the template sets it (resolved)
    throttling: dict[str, Any] | None  # DefaultRouteSettings (burst/rate), reported only


@dataclass(frozen=True)
class QueueSource:
    """An SQS event source mapping (Events: Type: SQS)."""

    function: str
    queue_arn: str
    batch_size: int
    batching_window_seconds: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None
    enabled: bool = True


@dataclass(frozen=True)
class StreamSource:
    """A DynamoDB stream event source mapping (Events: Type: DynamoDB)."""

    function: str
    table_name: str
    batch_size: int
    starting_position: str
    report_batch_item_failures: bool
    filter_patterns: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Target:
    kind: str  # "lambda" or "states"
    arn: str
    input: str | None = None  # a constant Input, when the rule sets one
    input_path: str | None = None


@dataclass(frozen=True)
class Schedule:
    """A schedule rule: `rate(...)` or `cron(...)` with its targets."""

    name: str
    expression: str
    targets: tuple[Target, ...]
    enabled: bool = True


@dataclass(frozen=True)
class EventRule:
    """An EventBridge pattern rule whose targets the local cloud delivers to itself."""

    name: str
    event_bus_name: str
    pattern: dict[str, Any]
    targets: tuple[Target, ...]


@dataclass
class LocalApp:
    """Everything the local services need, resolved from template.yaml."""

    region: str
    account_id: str
    stack_name: str
    template_dir: Path
    resources: dict[str, dict[str, Any]]  # the transformed CloudFormation resources, intrinsics resolved
    physical_ids: dict[str, str]  # logical id -> Ref value
    outputs: dict[str, str]
    functions: dict[str, LambdaFunction] = field(default_factory=dict)
    http_apis: list[HttpApi] = field(default_factory=list)
    queue_sources: list[QueueSource] = field(default_factory=list)
    stream_sources: list[StreamSource] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    rules: list[EventRule] = field(default_factory=list)

    def function_by_name_or_arn(self, name_or_arn: str) -> LambdaFunction | None:
        """Lambda accepts a name, a full ARN or a partial ARN (with or without a qualifier)."""
        for fn in self.functions.values():
            if name_or_arn in (fn.name, fn.arn, fn.logical_id) or name_or_arn.startswith(fn.arn + ":"):
                return fn
        return None
