"""The pydantic models the handlers validate requests with are the one source of openapi.yaml's request schemas.

The models are found in the handlers themselves (`ast`): `parse_body(app, Model)`, `parse_query(app, Model)`,
and `Model.model_validate(...)` inside a route function (its path parameters). Each model's JSON Schema
(`model_json_schema()`) must equal what openapi.yaml says for that route's body, query or path parameters, once
both are normalised (`normalised` below); so openapi.yaml is written by hand, with its descriptions, and this
test keeps its types, required fields, enums, bounds, patterns and `additionalProperties: false` the model's.
(Generating the components from the models instead would need a writer that keeps openapi.yaml's comments,
descriptions and layout, and a second test that the file is up to date: more machinery for the same guarantee.)

A model defined in the handler module is built from that module's imports and class definitions only, without
its module-level wiring (settings, clients), so no environment is needed.
"""

from __future__ import annotations

import ast
import json
import sys
import types
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from tests.unit.test_contract_routes import HTTP_FUNCTIONS, Function, handler_routes
from tests.unit.test_openapi import JSON, operations, problem_codes, spec
from tests.unit.test_openapi import resolve as resolve_in_spec

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
ANNOTATIONS = ("title", "description", "examples")
NULL = {"type": "null"}
BLANK = {"$ref": "#/components/schemas/BlankFilter"}


# ---------------------------------------------------------------------------------------------- the normaliser


def resolve(node: Any, document: dict[str, Any]) -> Any:
    """`node` with its `$ref` (into `document`: `#/$defs/...` of a model, `#/components/...` of openapi) inlined;
    keywords beside the `$ref` win over the target's."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def normalised(schema: Any, document: dict[str, Any], *, query: bool = False) -> Any:
    """`schema` with only the differences of representation between pydantic and openapi.yaml taken out:

    - `$ref`s (pydantic's `#/$defs/X`, openapi's `#/components/schemas/X`) are inlined, `$defs` dropped;
    - annotations that validate nothing (`title`, `description`, `examples`) are dropped;
    - pydantic's optional field `anyOf: [X, {type: null}]` with `default: null` is X whose `type` also allows
      "null" (openapi.yaml writes `type: [string, "null"]`); in a query string, which cannot carry a null, the
      "null" is dropped instead;
    - in a query string, a `BlankFilter` branch of an `anyOf` is dropped (see below);
    - `type: [one]` is `type: one`; `required` and type lists are compared as sets (sorted).
    Everything else (types, enums, bounds, patterns, formats, other defaults, additionalProperties) stays.
    """
    schema = resolve(schema, document)
    if query and isinstance(schema, dict) and BLANK in schema.get("anyOf", []) and len(schema["anyOf"]) == 2:
        # A filter model takes a blank value as absent (`_blank_is_absent`, a before-validator its JSON Schema
        # cannot show); openapi.yaml says so with a BlankFilter branch. The fuzzer (tests/fuzz) checks it holds.
        other = next(branch for branch in schema["anyOf"] if branch != BLANK)
        schema = {**{k: v for k, v in schema.items() if k != "anyOf"}, **resolve(other, document)}
    if isinstance(schema, list):
        return [normalised(s, document, query=query) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if k not in (*ANNOTATIONS, "$defs")}
    branches = out.get("anyOf")
    if isinstance(branches, list) and NULL in branches and len(branches) == 2:
        del out["anyOf"]
        if out.get("default", ...) is None:
            del out["default"]
        other = resolve(next(b for b in branches if b != NULL), document)
        out = {**{k: v for k, v in other.items() if k not in ANNOTATIONS}, **out}
        if not query:
            out["type"] = [*_types(out), "null"]
    result: dict[str, Any] = {}
    for key, value in out.items():
        if key == "properties":
            result[key] = {name: normalised(child, document, query=query) for name, child in value.items()}
        elif key in ("items", "not", "additionalProperties", "anyOf", "oneOf", "allOf") and not isinstance(value, bool):
            result[key] = normalised(value, document, query=query)
        elif key == "required":
            result[key] = sorted(value)
        elif key == "type":
            kinds = sorted(set(_types({"type": value})))
            result[key] = kinds[0] if len(kinds) == 1 else kinds
        else:
            result[key] = value
    return result


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    return [] if kind is None else ([kind] if isinstance(kind, str) else list(kind))


def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(by_alias=True, mode="validation")


# ---------------------------------------------------------------------------------------------- finding the models


@dataclass(frozen=True)
class Validated:
    """A request model one function's handler validates with, and what it validates."""

    function: Function
    part: str  # "body", "query" or "path"
    model: type[BaseModel]


def _handler_module(function: Function) -> tuple[ast.Module, types.ModuleType]:
    """The handler's syntax tree, and a module holding its imports and class definitions (no wiring)."""
    source = (ROOT / "functions" / function.directory / "app.py").read_text()
    tree = ast.parse(source)
    kept: list[ast.stmt] = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom | ast.ClassDef)]
    module = types.ModuleType(f"contract_models_{function.directory}")
    sys.modules[module.__name__] = module  # pydantic resolves a model's annotations through its module
    code = compile(ast.Module(body=kept, type_ignores=[]), f"functions/{function.directory}/app.py", "exec")
    exec(code, module.__dict__)  # noqa: S102 - the repository's own handler: its imports and classes only
    return tree, module


@cache
def validated() -> tuple[Validated, ...]:
    found = []
    for function in HTTP_FUNCTIONS:
        tree, module = _handler_module(function)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("parse_body", "parse_query") and len(node.args) == 2:
                name = node.args[1]
                assert isinstance(name, ast.Name), f"{function.directory}: {func.id} of a non-name"
                part = "body" if func.id == "parse_body" else "query"
                found.append(Validated(function, part, getattr(module, name.id)))
        for route_function in _route_functions(tree):
            for node in ast.walk(route_function):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "model_validate"
                    and isinstance(node.func.value, ast.Name)
                ):
                    found.append(Validated(function, "path", getattr(module, node.func.value.id)))
    return tuple(found)


def _route_functions(tree: ast.Module) -> list[ast.FunctionDef]:
    """The functions decorated as routes (whatever else validates the Lambda event is not HTTP input)."""
    resolvers = [n for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)]
    preamble = "\n".join(ast.unparse(n) for n in resolvers)
    routed = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and handler_routes(f"{preamble}\n{ast.unparse(node)}"):
            routed.append(node)
    return routed


def operation_of(item: Validated) -> dict[str, Any]:
    (route,) = item.function.routes  # one route per function: the model is that route's
    return dict(operations())[route]


def parameters(op: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in map(resolve_in_spec, op.get("parameters", [])) if p["in"] == where}


def ids(item: Validated) -> str:
    return f"{item.function.directory}-{item.part}-{item.model.__name__}"


# ---------------------------------------------------------------------------------------------- the tests


def test_the_handlers_models_are_found() -> None:
    # Given the handlers, Then every function that takes a body parses it with a model (the provider's aside)
    bodies = {item.function.directory for item in validated() if item.part == "body"}
    assert {"add_cart_line", "set_cart_line", "create_checkout", "create_product", "set_inventory"} <= bodies
    assert {item.part for item in validated()} == {"body", "query", "path"}


@pytest.mark.parametrize("item", [i for i in validated() if i.part == "body"], ids=ids)
def test_request_bodies_are_their_models(item: Validated) -> None:
    # Given a body model and the route's requestBody in openapi.yaml
    op = operation_of(item)
    if not item.model.model_fields:
        # A body that must be absent or `{}` (POST /sessions) is no requestBody: the operation says so in words,
        # and tests/e2e/test_hostile_input.py sends an empty body to any documented one expecting a 400
        assert "requestBody" not in op, item.function.routes
        assert normalised(model_schema(item.model), {}) == {
            "type": "object",
            "additionalProperties": False,
            "properties": {},
        }
        return
    assert "requestBody" in op, f"{item.function.routes} parses a body but openapi.yaml has no requestBody"
    documented = resolve_in_spec(op["requestBody"])["content"][JSON]["schema"]
    # Then they are the same schema once normalised
    assert normalised(documented, spec()) == normalised(model_schema(item.model), model_schema(item.model))


def test_every_documented_body_is_parsed_with_a_model() -> None:
    # Given the operations with a requestBody, Then the handler of each parses it with a model
    # (the payment provider's event is verified by its signature and read by the Stripe SDK instead)
    parsed = {item.function.routes[0] for item in validated() if item.part == "body"}
    documented = {route for route, op in operations() if "requestBody" in op}
    assert documented - parsed == {("POST", "/webhooks/payments/stripe")}


@pytest.mark.parametrize("item", [i for i in validated() if i.part == "query"], ids=ids)
def test_query_parameters_are_their_models(item: Validated) -> None:
    # Given a query model and the route's query parameters in openapi.yaml
    schema = model_schema(item.model)
    documented = parameters(operation_of(item), "query")
    # Then they name the same parameters, each with the same schema and the same "required"
    assert sorted(documented) == sorted(schema["properties"])
    for name, field in schema["properties"].items():
        assert normalised(documented[name]["schema"], spec(), query=True) == normalised(field, schema, query=True), name
        assert documented[name].get("required", False) == (name in schema.get("required", [])), name


@pytest.mark.parametrize("item", [i for i in validated() if i.part == "path"], ids=ids)
def test_path_parameters_are_their_models(item: Validated) -> None:
    # Given a path model and the route's path parameters in openapi.yaml
    schema = model_schema(item.model)
    documented = parameters(operation_of(item), "path")
    # Then each field is a path parameter with the same schema
    assert set(schema["properties"]) <= set(documented)
    for name, field in schema["properties"].items():
        assert normalised(documented[name]["schema"], spec()) == normalised(field, schema), name


def test_operations_that_validate_declare_validation_errors() -> None:
    # Given each operation whose handler validates a model, Then it documents 400 VALIDATION_ERROR
    for item in validated():
        responses = operation_of(item)["responses"]
        assert "VALIDATION_ERROR" in (problem_codes(responses.get("400", {})) or []), ids(item)


@pytest.mark.parametrize("item", [i for i in validated() if i.part == "body"], ids=ids)
def test_sample_bodies_are_valid_requests(item: Validated) -> None:
    # Given the function's sample event, Then its body (if it has one) is one its model accepts
    body = json.loads((EVENTS / f"{item.function.directory}.json").read_text()).get("body")
    if body:
        item.model.model_validate_json(body)


def test_the_normaliser_keeps_what_validates() -> None:
    # Given a model and two openapi renderings of it: one faithful, one that drifted (a bound and a pattern lost)
    from typing import Annotated

    from pydantic import ConfigDict, Field

    class Inner(BaseModel):
        model_config = ConfigDict(extra="forbid")
        code: Annotated[str, Field(pattern=r"^[A-Z]+$")]

    class Body(BaseModel):
        model_config = ConfigDict(extra="forbid")
        quantity: Annotated[int, Field(ge=1, le=10)]
        note: Annotated[str, Field(max_length=5)] | None = None
        inner: Inner

    document = {
        "components": {
            "schemas": {
                "Inner": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["code"],
                    "properties": {"code": {"type": "string", "pattern": "^[A-Z]+$"}},
                }
            }
        }
    }
    faithful = {
        "type": "object",
        "description": "Documented.",
        "additionalProperties": False,
        "required": ["inner", "quantity"],
        "properties": {
            "quantity": {"type": "integer", "minimum": 1, "maximum": 10},
            "note": {"type": ["string", "null"], "maxLength": 5},
            "inner": {"$ref": "#/components/schemas/Inner"},
        },
    }
    drifted = json.loads(json.dumps(faithful))
    del drifted["properties"]["quantity"]["maximum"]
    document_drifted = json.loads(json.dumps(document))
    del document_drifted["components"]["schemas"]["Inner"]["properties"]["code"]["pattern"]
    model = normalised(model_schema(Body), model_schema(Body))
    # Then the faithful one equals the model, and each drift is seen
    assert normalised(faithful, document) == model
    assert normalised(drifted, document) != model
    assert normalised(faithful, document_drifted) != model
