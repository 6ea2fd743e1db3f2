"""What every resource provisioner needs: clients for the local services, the stack's scope, and helpers.

`api_params` turns CloudFormation properties into an API call's parameters using botocore's own model
of the operation: members with the same name are kept and converted to the shape's type (CloudFormation
passes numbers from parameters as text, the APIs want integers), members the API does not know are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config
from botocore.model import Shape

from localcloud.aws import edge_client
from localcloud.template import Identity, Scope, Stack, deterministic_identity, physical_name, scope_of
from localcloud.template.errors import LocalCloudTemplateError, location_of

Invoke = Callable[[str, dict[str, Any]], Any]


@dataclass
class ProvisionContext:
    stack: Stack
    endpoint_url: str
    invoke: Invoke | None = None  # runs a function of the stack (custom resources)
    register_interceptor: Callable[..., None] | None = None  # EdgeApp.intercept, for callbacks into the edge
    shared: dict[str, Any] = field(default_factory=dict)  # state provisioners keep for the rest of the run
    _clients: dict[str, Any] = field(default_factory=dict)

    @property
    def scope(self) -> Scope:
        return scope_of(self.stack)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = edge_client(
                service,
                endpoint_url=self.endpoint_url,
                region=self.stack.region,
                config=Config(retries={"max_attempts": 2, "mode": "standard"}),
            )
        return self._clients[service]

    def name(self, logical_id: str, max_length: int, *, lowercase: bool = False) -> str:
        return physical_name(self.scope, logical_id, max_length, lowercase=lowercase)

    def identity(self, logical_id: str, resource_type: str, props: dict[str, Any]) -> Identity:
        """The deterministic identity, for resources (or attributes) the local service does not assign."""
        return deterministic_identity(self.scope, logical_id, resource_type, props)


def api_params(
    client: Any,
    operation: str,
    props: Mapping[str, Any],
    *,
    where: tuple[str | int, ...],
    renames: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`props` as parameters of `operation`: renamed, filtered to the API's members, converted to their types."""
    shape = client.meta.service_model.operation_model(operation).input_shape
    renamed = {(renames or {}).get(key, key): value for key, value in props.items()}
    return _convert_structure(shape, renamed, where)


def _convert_structure(shape: Shape, value: Mapping[str, Any], where: tuple[str | int, ...]) -> dict[str, Any]:
    members = shape.members  # type: ignore[attr-defined]
    return {key: _convert(members[key], item, (*where, key)) for key, item in value.items() if key in members}


def _convert(shape: Shape, value: Any, where: tuple[str | int, ...]) -> Any:
    kind = shape.type_name
    try:
        if kind == "structure" and isinstance(value, Mapping):
            return _convert_structure(shape, value, where)
        if kind == "list" and isinstance(value, list):
            return [_convert(shape.member, item, (*where, i)) for i, item in enumerate(value)]  # type: ignore[attr-defined]
        if kind == "map" and isinstance(value, Mapping):
            return {str(k): _convert(shape.value, v, (*where, str(k))) for k, v in value.items()}  # type: ignore[attr-defined]
        if kind in ("integer", "long"):
            return int(str(value))
        if kind in ("double", "float"):
            return float(str(value))
        if kind == "boolean":
            return value if isinstance(value, bool) else str(value).lower() == "true"
        if kind == "string":
            return (
                json.dumps(value)
                if isinstance(value, dict | list)
                else ("true" if value is True else "false" if value is False else str(value))
            )
    except ValueError:
        raise LocalCloudTemplateError(f"{value!r} is not a valid {kind}", location=location_of(*where)) from None
    return value


def text_attributes(props: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    """Queue/topic attributes: every value as the API's text (booleans lower-case, documents as JSON)."""
    attributes = {}
    for name in names:
        if name in props and props[name] is not None:
            value = props[name]
            attributes[name] = (
                json.dumps(value)
                if isinstance(value, dict | list)
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
            )
    return attributes


def where_of(logical_id: str, *path: str | int) -> tuple[str | int, ...]:
    return ("Resources", logical_id, "Properties", *path)
