"""Lambda functions as the local runtime runs them, from resolved AWS::Lambda::Function resources."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localcloud.model import LambdaFunction, find_function
from localcloud.template.errors import LocalCloudTemplateError, integer_at, location_of
from localcloud.template.identity import Identity
from localcloud.template.loader import local_code_dir

# CloudFormation's defaults for AWS::Lambda::Function.
DEFAULT_TIMEOUT_SECONDS = 3
DEFAULT_MEMORY_MB = 128


def layer_path(logical_id: str, props: dict[str, Any]) -> Path:
    """The directory a layer puts on sys.path: its `python/` folder when it has one (as /opt/python)."""
    content = local_code_dir(props.get("Content"))
    if content is None:
        raise LocalCloudTemplateError(
            "only layers with a local ContentUri can run locally",
            location=location_of("Resources", logical_id, "Properties", "Content"),
        )
    return content / "python" if (content / "python").is_dir() else content


def build_function(
    logical_id: str, props: dict[str, Any], identity: Identity, layer_paths: Mapping[str, Path]
) -> LambdaFunction:
    """The runtime's view of one function; anything that cannot run locally is an error naming the property."""
    where = ("Resources", logical_id, "Properties")
    if props.get("PackageType") == "Image":
        raise LocalCloudTemplateError(
            "container image functions are not supported locally", location=location_of(*where, "PackageType")
        )
    runtime = str(props.get("Runtime", ""))
    if not runtime.startswith("python3"):
        raise LocalCloudTemplateError(
            f"runtime {runtime or '(none)'} is not supported locally (Python 3 only)",
            location=location_of(*where, "Runtime"),
        )
    code_dir = local_code_dir(props.get("Code"))
    if code_dir is None:
        raise LocalCloudTemplateError(
            "the code must be a local directory (CodeUri)", location=location_of(*where, "Code")
        )
    handler = props.get("Handler")
    if not isinstance(handler, str) or "." not in handler:
        raise LocalCloudTemplateError("Handler must look like module.function", location=location_of(*where, "Handler"))

    layers: list[Path] = []
    for index, arn in enumerate(props.get("Layers") or []):
        if str(arn) not in layer_paths:
            raise LocalCloudTemplateError(
                f"layer {arn} is not declared in this template; only local layers can run",
                location=location_of(*where, "Layers", index),
            )
        layers.append(layer_paths[str(arn)])

    logging_config = props.get("LoggingConfig") or {}
    return LambdaFunction(
        logical_id=logical_id,
        name=str(identity.ref),
        arn=str(identity.attributes["Arn"]),
        handler=handler,
        code_dir=code_dir,
        layer_dirs=tuple(layers),
        environment=_environment(props, where),
        timeout_seconds=integer_at(props.get("Timeout", DEFAULT_TIMEOUT_SECONDS), (*where, "Timeout")),
        memory_mb=integer_at(props.get("MemorySize", DEFAULT_MEMORY_MB), (*where, "MemorySize")),
        reserved_concurrency=(
            integer_at(props["ReservedConcurrentExecutions"], (*where, "ReservedConcurrentExecutions"))
            if props.get("ReservedConcurrentExecutions") is not None
            else None
        ),
        runtime=runtime,
        log_group=str(logging_config["LogGroup"]) if logging_config.get("LogGroup") else None,
        log_format=str(logging_config.get("LogFormat", "Text")),
        dead_letter_arn=(props.get("DeadLetterConfig") or {}).get("TargetArn"),
    )


def _environment(props: dict[str, Any], where: tuple[str, ...]) -> dict[str, str]:
    variables = (props.get("Environment") or {}).get("Variables") or {}
    environment: dict[str, str] = {}
    for name, value in variables.items():
        if isinstance(value, bool):
            environment[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            environment[name] = str(value)
        else:
            raise LocalCloudTemplateError(
                "an environment variable must resolve to text",
                location=location_of(*where, "Environment", "Variables", name),
            )
    return environment


def apply_invoke_configs(
    functions: dict[str, LambdaFunction], resources: Mapping[str, dict[str, Any]]
) -> dict[str, LambdaFunction]:
    """Fold each AWS::Lambda::EventInvokeConfig (retries, destinations) into its function."""
    configured = dict(functions)
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::EventInvokeConfig":
            continue
        props = resource["Properties"]
        where = ("Resources", logical_id, "Properties")
        target = find_function(functions.values(), str(props.get("FunctionName")))
        if target is None:
            raise LocalCloudTemplateError(
                f"function {props.get('FunctionName')!r} is not in this template",
                location=location_of(*where, "FunctionName"),
            )
        destinations = props.get("DestinationConfig") or {}
        configured[target.logical_id] = dataclasses.replace(
            configured[target.logical_id],
            async_max_retries=integer_at(props.get("MaximumRetryAttempts", 2), (*where, "MaximumRetryAttempts")),
            async_max_event_age_seconds=integer_at(
                props.get("MaximumEventAgeInSeconds", 21600), (*where, "MaximumEventAgeInSeconds")
            ),
            async_on_success=(destinations.get("OnSuccess") or {}).get("Destination"),
            async_on_failure=(destinations.get("OnFailure") or {}).get("Destination"),
        )
    return configured
