"""Walk a stack's resources in dependency order, as CloudFormation does, and describe the result as a LocalApp.

For each resource: resolve its properties with what is known so far, hand them to `create` (which
creates the resource in a local service, or only names it), and record the identity it returns so
that dependants resolve their `Ref`/`Fn::GetAtt`. Functions are announced as soon as they exist, so
a custom resource later in the walk can already invoke them; `on_resource` hears of every resource as it is
created (IAM learns roles and policies so before any function runs).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from localcloud.model import LambdaFunction, LocalApp
from localcloud.template.errors import LocalCloudTemplateError, location_of
from localcloud.template.events import build_event_sources, build_schedules_and_rules
from localcloud.template.functions import apply_invoke_configs, build_function, layer_path
from localcloud.template.http_apis import build_http_apis
from localcloud.template.identity import Identity, Scope, deterministic_identity
from localcloud.template.intrinsics import NO_VALUE, Resolver
from localcloud.template.loader import Stack
from localcloud.template.order import deployment_order

Create = Callable[[str, str, dict[str, Any]], Identity]  # (logical id, type, resolved properties) -> identity
FunctionListener = Callable[[LambdaFunction], None]
ResourceListener = Callable[[str, str, dict[str, Any], Identity], None]  # (logical id, type, resolved props, identity)


def scope_of(stack: Stack) -> Scope:
    return Scope(region=stack.region, account_id=stack.account_id, stack_name=stack.stack_name)


def offline_create(stack: Stack) -> Create:
    """Create nothing: every resource gets its deterministic identity (for reading a template offline)."""
    scope = scope_of(stack)
    return lambda logical_id, resource_type, props: deterministic_identity(scope, logical_id, resource_type, props)


def deploy(
    stack: Stack,
    create: Create,
    *,
    on_function: FunctionListener | None = None,
    on_resource: ResourceListener | None = None,
) -> LocalApp:
    resolver = stack.new_resolver()
    resolved: dict[str, dict[str, Any]] = {}
    functions: dict[str, LambdaFunction] = {}
    layer_paths: dict[str, Path] = {}
    for logical_id in deployment_order(stack.resources):
        resource = stack.resources[logical_id]
        resource_type = resource.get("Type")
        if not isinstance(resource_type, str):
            raise LocalCloudTemplateError("has no Type", location=location_of("Resources", logical_id))
        props = resolver.resolve(resource.get("Properties") or {}, ("Resources", logical_id, "Properties"))
        if resource_type == "AWS::Lambda::LayerVersion":
            layer = layer_path(logical_id, props)
        identity = create(logical_id, resource_type, props)
        resolver.provide(logical_id, identity.ref, identity.attributes)
        resolved[logical_id] = {"Type": resource_type, "Properties": props}
        if on_resource is not None:
            on_resource(logical_id, resource_type, props, identity)
        if resource_type == "AWS::Lambda::LayerVersion":
            layer_paths[str(identity.ref)] = layer
        elif resource_type == "AWS::Lambda::Function":
            functions[logical_id] = build_function(logical_id, props, identity, layer_paths)
            if on_function is not None:
                on_function(functions[logical_id])

    functions = apply_invoke_configs(functions, resolved)
    if on_function is not None:
        for fn in functions.values():
            on_function(fn)
    refs = resolver.refs
    attributes = resolver.attributes
    queue_urls = {
        str(attributes[lid]["Arn"]): str(refs[lid]) for lid, r in resolved.items() if r["Type"] == "AWS::SQS::Queue"
    }
    queue_sources, stream_sources = build_event_sources(resolved, functions, queue_urls)
    schedules, rules = build_schedules_and_rules(resolved, refs)
    return LocalApp(
        region=stack.region,
        account_id=stack.account_id,
        stack_name=stack.stack_name,
        template_dir=stack.template_dir,
        resources=resolved,
        physical_ids={lid: str(ref) for lid, ref in refs.items()},
        outputs=_outputs(stack, resolver),
        functions=functions,
        http_apis=build_http_apis(resolved, refs, functions),
        queue_sources=queue_sources,
        stream_sources=stream_sources,
        schedules=schedules,
        rules=rules,
        attributes=attributes,
        parameters=dict(stack.parameters),
    )


def _outputs(stack: Stack, resolver: Resolver) -> dict[str, str]:
    outputs = {}
    for name, output in stack.outputs.items():
        value = resolver.resolve(output.get("Value"), ("Outputs", name, "Value"))
        if value is NO_VALUE:
            continue
        outputs[name] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return outputs
