"""The app described by template.yaml, resolved into plain data the local services can run.

The loader (`localcloud.template`) builds one `LocalApp` from the transformed template; the Lambda
runtime, the HTTP API router and the event sources only read it. Nothing here is
written by hand for this project: every route, table, queue and function comes from the template.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    runtime: str = "python3.13"
    log_group: str | None = None  # LoggingConfig.LogGroup, else /aws/lambda/<name>
    log_format: str = "Text"  # LoggingConfig.LogFormat
    # Asynchronous invocation (EventInvokeConfig / DeadLetterQueue): retries, then destinations.
    async_max_retries: int = 2
    async_max_event_age_seconds: int = 21600
    async_on_success: str | None = None  # destination ARN (SQS, SNS, Lambda, EventBridge bus)
    async_on_failure: str | None = None
    dead_letter_arn: str | None = None  # DeadLetterConfig.TargetArn (SQS or SNS)


@dataclass(frozen=True)
class HttpRoute:
    method: str  # "GET", ..., or "ANY"
    path: str  # API Gateway form: "/cart/lines/{sku}", "/{proxy+}", or "$default" (method "ANY")
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
    throttling: dict[str, Any] | None  # DefaultRouteSettings (burst/rate), enforced by the router
    api_id: str = ""  # the API's physical id (Ref), as in requestContext.apiId
    stage: str = "$default"  # the stage's StageName; the router serves every API as its $default stage


@dataclass(frozen=True)
class QueueSource:
    """An SQS event source mapping (Events: Type: SQS)."""

    function: str  # logical id of the function (the event sources also take a name or an ARN)
    queue_arn: str
    batch_size: int
    batching_window_seconds: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None
    enabled: bool = True
    queue_url: str = ""
    filter_patterns: tuple[dict[str, Any], ...] = ()  # FilterCriteria patterns, parsed


@dataclass(frozen=True)
class StreamSource:
    """A DynamoDB stream event source mapping (Events: Type: DynamoDB)."""

    function: str  # as QueueSource.function
    table_name: str
    batch_size: int
    starting_position: str
    report_batch_item_failures: bool
    filter_patterns: tuple[dict[str, Any], ...] = ()
    stream_arn: str = ""
    batching_window_seconds: int = 0
    maximum_retry_attempts: int = -1  # -1: until the record expires, as Lambda does
    bisect_batch_on_function_error: bool = False
    on_failure_arn: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class Target:
    kind: str  # the ARN's service: "lambda", "states", "sqs", "sns", "events", "logs", ...
    arn: str
    input: str | None = None  # a constant Input, when the rule sets one
    input_path: str | None = None
    input_transformer: dict[str, Any] | None = None  # {InputPathsMap, InputTemplate}
    target_id: str = ""


@dataclass(frozen=True)
class Schedule:
    """A schedule (an EventBridge rule with ScheduleExpression, or an EventBridge Scheduler schedule).

    Nothing else runs schedules locally, so `targets` holds every target, whatever its kind.
    """

    name: str
    expression: str  # rate(...), cron(...) or at(...)
    targets: tuple[Target, ...]
    enabled: bool = True
    timezone: str | None = None  # ScheduleExpressionTimezone (Scheduler only); UTC when None
    group: str | None = None  # the Scheduler schedule's GroupName ("default"); None for a rule's schedule


@dataclass(frozen=True)
class EventRule:
    """An EventBridge pattern rule whose targets the local cloud delivers to itself.

    `targets` holds the targets moto does not deliver (Lambda, Step Functions, SNS, ...): moto delivers
    the others (SQS, CloudWatch Logs, other buses) itself, and the rule is created in moto with just those.
    """

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
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical id -> Fn::GetAtt values
    parameters: dict[str, Any] = field(default_factory=dict)  # the template parameters' values

    def function_by_name_or_arn(self, name_or_arn: str) -> LambdaFunction | None:
        return find_function(self.functions.values(), name_or_arn)


def find_function(functions: Iterable[LambdaFunction], name_or_arn: str) -> LambdaFunction | None:
    """The function `name_or_arn` names, as Lambda accepts it: a name (or logical id), a full ARN or a
    partial ARN (`123456789012:function:name`), each with or without the `$LATEST` qualifier."""
    for fn in functions:
        if name_or_arn in (fn.logical_id, fn.name, fn.arn) or name_or_arn.startswith(fn.arn + ":"):
            return fn
        partial = fn.arn.split(":", 4)[-1]  # 123456789012:function:name
        if name_or_arn in (partial, f"{fn.name}:$LATEST") or name_or_arn.startswith(partial + ":"):
            return fn
    return None
