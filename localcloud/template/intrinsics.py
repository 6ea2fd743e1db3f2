"""CloudFormation intrinsic functions, resolved the way CloudFormation does at deploy time.

`Resolver` knows the parameters, pseudo parameters, mappings and conditions of one stack, and learns
each resource's physical id (`Ref`) and attributes (`Fn::GetAtt`) as it is created. Resolving a
value that names a resource not created yet, an unknown parameter or an unsupported function raises
`LocalCloudTemplateError` with the location of the value in the template.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from localcloud.template.errors import LocalCloudTemplateError, location_of

Path = tuple[str | int, ...]

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_NO_VALUE = "AWS::NoValue"
_CONDITION_FUNCTIONS = ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Condition")
_UNSUPPORTED = ("Fn::ImportValue", "Fn::Cidr", "Fn::Transform", "Fn::ForEach", "Fn::Length", "Fn::ToJsonString")


class _NoValue:
    """`Ref: AWS::NoValue`: the property (or list item) disappears."""


NO_VALUE = _NoValue()


def sub_variables(template: str) -> Iterator[str]:
    """The `${...}` names in an Fn::Sub string, without the `${!Literal}` escapes."""
    for match in _SUB_VARIABLE.finditer(template):
        name = match.group(1).strip()
        if not name.startswith("!"):
            yield name


def referenced_names(value: Any) -> set[str]:
    """Logical ids and parameter names a value refers to through Ref, Fn::GetAtt and Fn::Sub."""
    found: set[str] = set()
    _collect_references(value, found)
    return found


def _collect_references(value: Any, found: set[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _collect_references(item, found)
        return
    if not isinstance(value, dict):
        return
    if len(value) == 1:
        ((name, argument),) = value.items()
        if name == "Ref" and isinstance(argument, str):
            found.add(argument)
            return
        if name == "Fn::GetAtt":
            logical = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
            if isinstance(logical, str):
                found.add(logical)
            return
        if name == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
            _collect_references(variables, found)
            for variable in sub_variables(text if isinstance(text, str) else ""):
                if variable not in variables:
                    found.add(variable.split(".", 1)[0])
            return
    for item in value.values():
        _collect_references(item, found)


class Resolver:
    """Resolves intrinsic functions for one stack; resources become resolvable once `provide`d."""

    def __init__(
        self,
        *,
        pseudo_parameters: Mapping[str, Any],
        parameters: Mapping[str, Any],
        mappings: Mapping[str, Any] | None = None,
        condition_definitions: Mapping[str, Any] | None = None,
        resource_ids: frozenset[str] = frozenset(),
    ) -> None:
        self._pseudo = dict(pseudo_parameters)
        self._parameters = dict(parameters)
        self._mappings = dict(mappings or {})
        self._condition_definitions = dict(condition_definitions or {})
        self._conditions: dict[str, bool] = {}
        self._resource_ids = resource_ids
        self._refs: dict[str, Any] = {}
        self._attributes: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ what is known
    def provide(self, logical_id: str, ref: Any, attributes: Mapping[str, Any]) -> None:
        """Record a created resource: its `Ref` value and its `Fn::GetAtt` attributes."""
        self._refs[logical_id] = ref
        self._attributes[logical_id] = dict(attributes)

    @property
    def refs(self) -> dict[str, Any]:
        return dict(self._refs)

    @property
    def attributes(self) -> dict[str, dict[str, Any]]:
        return {k: dict(v) for k, v in self._attributes.items()}

    def condition(self, name: str, path: Path = ("Conditions",)) -> bool:
        if name not in self._conditions:
            if name not in self._condition_definitions:
                raise LocalCloudTemplateError(f"condition {name!r} is not declared", location=location_of(*path))
            # Mark first: a condition that depends on itself is an error, not a recursion.
            self._conditions[name] = False
            value = self._evaluate_condition(self._condition_definitions[name], ("Conditions", name))
            self._conditions[name] = value
        return self._conditions[name]

    # ------------------------------------------------------------------ resolution
    def resolve(self, value: Any, path: Path) -> Any:
        """`value` with every intrinsic function replaced by its value (NO_VALUE where it disappears)."""
        if isinstance(value, list):
            items = [self.resolve(item, (*path, i)) for i, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            handler = _FUNCTIONS.get(name)
            if handler is not None:
                return handler(self, argument, (*path, name))
            if name in _UNSUPPORTED:
                raise LocalCloudTemplateError(
                    f"{name} is not supported by the local cloud", location=location_of(*path)
                )
        resolved = {key: self.resolve(item, (*path, key)) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _ref(self, name: Any, path: Path) -> Any:
        if not isinstance(name, str):
            raise LocalCloudTemplateError("Ref takes the name of a parameter or resource", location=location_of(*path))
        if name == _NO_VALUE:
            return NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        if name in self._refs:
            return self._refs[name]
        if name in self._resource_ids:
            raise LocalCloudTemplateError(
                f"Ref to {name!r} before it was created (a missing dependency?)", location=location_of(*path)
            )
        raise LocalCloudTemplateError(
            f"Ref to {name!r}, which is no parameter or resource", location=location_of(*path)
        )

    def _get_att(self, argument: Any, path: Path) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not (isinstance(argument, list) and len(argument) == 2):
            raise LocalCloudTemplateError("Fn::GetAtt takes [LogicalId, Attribute]", location=location_of(*path))
        logical_id = argument[0]
        attribute = self.resolve(argument[1], (*path, 1))
        if logical_id not in self._attributes:
            if logical_id in self._resource_ids:
                raise LocalCloudTemplateError(
                    f"Fn::GetAtt {logical_id}.{attribute} before {logical_id} was created", location=location_of(*path)
                )
            raise LocalCloudTemplateError(
                f"Fn::GetAtt names {logical_id!r}, which is no resource", location=location_of(*path)
            )
        attributes = self._attributes[logical_id]
        if attribute not in attributes:
            known = ", ".join(sorted(attributes)) or "none"
            raise LocalCloudTemplateError(
                f"{logical_id} has no attribute {attribute!r} locally (known: {known})", location=location_of(*path)
            )
        return attributes[attribute]

    def _sub(self, argument: Any, path: Path) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        elif isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
            text = self.resolve(argument[0], (*path, 0))
            variables = {k: self.resolve(v, (*path, 1, k)) for k, v in argument[1].items()}
        else:
            raise LocalCloudTemplateError(
                "Fn::Sub takes a string or [string, {variables}]", location=location_of(*path)
            )
        if not isinstance(text, str):
            raise LocalCloudTemplateError("Fn::Sub needs a string to substitute into", location=location_of(*path))

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = variables[name]
            elif "." in name and not name.startswith("AWS::"):
                value = self._get_att(name.split(".", 1), path)
            else:
                value = self._ref(name, path)
            return _as_text(value, name, path)

        return _SUB_VARIABLE.sub(substitute, text)

    def _join(self, argument: Any, path: Path) -> str:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise LocalCloudTemplateError("Fn::Join takes [delimiter, [values]]", location=location_of(*path))
        delimiter = self.resolve(argument[0], (*path, 0))
        values = self.resolve(argument[1], (*path, 1))
        if not isinstance(values, list):
            raise LocalCloudTemplateError("Fn::Join needs a list of values", location=location_of(*path))
        return str(delimiter).join(_as_text(v, "Fn::Join", path) for v in values)

    def _select(self, argument: Any, path: Path) -> Any:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise LocalCloudTemplateError("Fn::Select takes [index, [values]]", location=location_of(*path))
        index = self.resolve(argument[0], (*path, 0))
        values = self.resolve(argument[1], (*path, 1))
        try:
            return values[int(index)]
        except (ValueError, TypeError, IndexError, KeyError):
            raise LocalCloudTemplateError(
                f"Fn::Select index {index!r} is not in a list of {len(values) if isinstance(values, list) else 0}",
                location=location_of(*path),
            ) from None

    def _split(self, argument: Any, path: Path) -> list[str]:
        if not (isinstance(argument, list) and len(argument) == 2):
            raise LocalCloudTemplateError("Fn::Split takes [delimiter, string]", location=location_of(*path))
        delimiter = self.resolve(argument[0], (*path, 0))
        source = self.resolve(argument[1], (*path, 1))
        return str(source).split(str(delimiter))

    def _if(self, argument: Any, path: Path) -> Any:
        if not (isinstance(argument, list) and len(argument) == 3 and isinstance(argument[0], str)):
            raise LocalCloudTemplateError(
                "Fn::If takes [condition, value_if_true, value_if_false]", location=location_of(*path)
            )
        chosen = 1 if self.condition(argument[0], path) else 2
        return self.resolve(argument[chosen], (*path, chosen))

    def _find_in_map(self, argument: Any, path: Path) -> Any:
        if not (isinstance(argument, list) and len(argument) in (3, 4)):
            raise LocalCloudTemplateError("Fn::FindInMap takes [map, key, key]", location=location_of(*path))
        names = [self.resolve(part, (*path, i)) for i, part in enumerate(argument[:3])]
        try:
            return self._mappings[names[0]][names[1]][names[2]]
        except (KeyError, TypeError):
            if len(argument) == 4 and isinstance(argument[3], dict) and "DefaultValue" in argument[3]:
                return self.resolve(argument[3]["DefaultValue"], (*path, 3))
            raise LocalCloudTemplateError(
                f"Fn::FindInMap: no {'/'.join(map(str, names))}", location=location_of(*path)
            ) from None

    def _get_azs(self, argument: Any, path: Path) -> list[str]:
        region = self.resolve(argument, path) or self._pseudo["AWS::Region"]
        return [f"{region}{zone}" for zone in "abc"]

    def _base64(self, argument: Any, path: Path) -> str:
        return base64.b64encode(_as_text(self.resolve(argument, path), "Fn::Base64", path).encode()).decode()

    # ------------------------------------------------------------------ conditions
    def _evaluate_condition(self, value: Any, path: Path) -> bool:
        if isinstance(value, dict) and len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Condition":
                return self.condition(argument, path)
            if name == "Fn::Equals" and isinstance(argument, list) and len(argument) == 2:
                left, right = (self.resolve(a, (*path, name, i)) for i, a in enumerate(argument))
                return str(left) == str(right)
            if name == "Fn::Not" and isinstance(argument, list) and len(argument) == 1:
                return not self._evaluate_condition(argument[0], (*path, name))
            if name in ("Fn::And", "Fn::Or") and isinstance(argument, list):
                results = [self._evaluate_condition(a, (*path, name, i)) for i, a in enumerate(argument)]
                return all(results) if name == "Fn::And" else any(results)
        raise LocalCloudTemplateError(
            f"a condition must be one of {', '.join(_CONDITION_FUNCTIONS)}", location=location_of(*path)
        )


def _as_text(value: Any, name: str, path: Path) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        # A CommaDelimitedList parameter substitutes as its comma-joined text.
        return ",".join(value)
    raise LocalCloudTemplateError(
        f"{name} resolves to {json.dumps(value)[:80]}, which cannot be used as text", location=location_of(*path)
    )


_FUNCTIONS = {
    "Ref": Resolver._ref,
    "Fn::GetAtt": Resolver._get_att,
    "Fn::Sub": Resolver._sub,
    "Fn::Join": Resolver._join,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::If": Resolver._if,
    "Fn::FindInMap": Resolver._find_in_map,
    "Fn::GetAZs": Resolver._get_azs,
    "Fn::Base64": Resolver._base64,
}
