"""The template loader: template.yaml, SAM-transformed offline, resolved into a `localcloud.model.LocalApp`.

- `load_stack(path, ...)` parses the template, settles its parameters and runs the SAM transform;
- `deploy(stack, create)` walks the resources in dependency order, resolving intrinsics with the
  physical ids `create` returns (provisioning passes one that creates them in the local services);
- `load_app(path, ...)` does both without creating anything, with deterministic physical ids.

Anything the local cloud cannot run raises `LocalCloudTemplateError` naming the resource and property.
"""

from __future__ import annotations

from pathlib import Path

from localcloud.model import LocalApp
from localcloud.template.deploy import Create, FunctionListener, ResourceListener, deploy, offline_create, scope_of
from localcloud.template.errors import LocalCloudTemplateError
from localcloud.template.identity import Identity, Scope, deterministic_identity, physical_name
from localcloud.template.loader import DEFAULT_ACCOUNT_ID, Stack, load_stack, local_code_dir, read_template


def load_app(
    template_path: Path,
    *,
    region: str = "us-east-1",
    stack_name: str = "localcloud",
    parameter_overrides: dict[str, str] | None = None,
) -> LocalApp:
    """The app `template_path` describes, read offline: nothing is created, ids are deterministic."""
    stack = load_stack(template_path, region=region, stack_name=stack_name, parameter_overrides=parameter_overrides)
    return deploy(stack, offline_create(stack))


__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "Create",
    "FunctionListener",
    "Identity",
    "LocalCloudTemplateError",
    "ResourceListener",
    "Scope",
    "Stack",
    "deploy",
    "deterministic_identity",
    "load_app",
    "load_stack",
    "local_code_dir",
    "offline_create",
    "physical_name",
    "read_template",
    "scope_of",
]
