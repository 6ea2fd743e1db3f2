"""Each route is one contract written in four places that agree: template.yaml, the handler, openapi.yaml, events/.

- Each function's HttpApi events (template.yaml) are exactly the routes its app.py registers (`@app.get("/x")`,
  read with `ast`, so no handler is imported and no environment is needed), with the same path parameters
  (Powertools names them in snake_case: `{orderId}` is `<order_id>`).
- Each template route is an openapi.yaml operation declaring the same path parameters. (That the served
  operations and the template routes are the same set, both ways, is test_openapi.py's.)
- Each function has its sample event, events/<function dir>.json: an API Gateway v2 event of one of its routes
  for an HTTP function, an event of its source (SQS, schedule) otherwise, and no sample is left without a function.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.support.template import load_template
from tests.unit.test_openapi import operations, resolve

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
ROUTE_METHODS = ("get", "post", "put", "delete", "patch", "head", "options")
PARAM = re.compile(r"\{([^}]+)\}")

Route = tuple[str, str]  # (METHOD, /path/{param})


@dataclass(frozen=True)
class Function:
    logical_id: str
    directory: str  # functions/<directory>/
    routes: tuple[Route, ...]  # its HttpApi events
    sources: tuple[str, ...]  # the types of its other events (SQS, Schedule, ...)


@cache
def functions() -> tuple[Function, ...]:
    found = []
    for logical_id, resource in load_template()["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties") or {}
        directory = str(props["CodeUri"]).rstrip("/").removeprefix("functions/")
        events = (props.get("Events") or {}).values()
        routed = [e for e in events if e.get("Type") == "HttpApi" and "Path" in e["Properties"]]
        routes = tuple((str(e["Properties"]["Method"]).upper(), str(e["Properties"]["Path"])) for e in routed)
        # The `$default` route (an HttpApi event without Path) is a source of its own: it registers no route.
        sources = tuple(
            sorted({"$default" if e["Type"] == "HttpApi" else str(e["Type"]) for e in events if e not in routed})
        )
        found.append(Function(logical_id, directory, routes, sources))
    return tuple(found)


def handler_routes(source: str) -> list[Route]:
    """The routes an app.py registers on its resolver, as `(METHOD, /path/{param})` (Powertools writes `<param>`).

    A resolver is a module-level name bound to `create_app()` (or `APIGatewayHttpResolver(...)`); its route
    decorators are `@app.<method>("/path")` and `@app.route("/path", method=...)`. A path that is not a string
    literal fails the test rather than being skipped.
    """
    tree = ast.parse(source)
    resolvers = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and _called_name(node.value) in ("create_app", "APIGatewayHttpResolver")
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    routes: list[Route] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if not (
                isinstance(decorator, ast.Call)
                and isinstance(decorator.func, ast.Attribute)
                and isinstance(decorator.func.value, ast.Name)
                and decorator.func.value.id in resolvers
                and decorator.func.attr in (*ROUTE_METHODS, "route")
            ):
                continue
            path = decorator.args[0] if decorator.args else None
            assert isinstance(path, ast.Constant), f"{node.name}: the path is not a literal"
            assert isinstance(path.value, str), f"{node.name}: the path is not a string"
            if decorator.func.attr == "route":
                given = {k.arg: k.value for k in decorator.keywords}
                methods_node = given.get("method", decorator.args[1] if len(decorator.args) > 1 else None)
                assert methods_node is not None, f"{node.name}: route() without a method"
                methods = ast.literal_eval(methods_node)
                methods = [methods] if isinstance(methods, str) else list(methods)
            else:
                methods = [decorator.func.attr]
            template_path = re.sub(r"<([^>]+)>", r"{\1}", path.value)
            routes += [(m.upper(), template_path) for m in methods]
    return routes


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else (func.attr if isinstance(func, ast.Attribute) else None)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def shape(path: str) -> str:
    """The path with its parameters unnamed: what Powertools and API Gateway match on."""
    return PARAM.sub("{}", path)


def sample(function: Function) -> dict[str, Any]:
    return json.loads((EVENTS / f"{function.directory}.json").read_text())


HTTP_FUNCTIONS = [f for f in functions() if f.routes]


# ---------------------------------------------------------------------------------------------- template <-> handler


@pytest.mark.parametrize("function", HTTP_FUNCTIONS, ids=lambda f: f.directory)
def test_template_routes_are_exactly_the_handler_routes(function: Function) -> None:
    # Given the function's HttpApi events and the routes its app.py registers
    registered = handler_routes((ROOT / "functions" / function.directory / "app.py").read_text())
    by_shape = {(m, shape(p)): p for m, p in registered}
    # Then each template route is registered exactly once, and the handler registers nothing else
    assert len(by_shape) == len(registered), f"a route is registered twice: {registered}"
    assert sorted(by_shape) == sorted((m, shape(p)) for m, p in function.routes)
    # And the path parameters are the same names (Powertools' are the snake_case of API Gateway's)
    for method, path in function.routes:
        assert PARAM.findall(by_shape[(method, shape(path))]) == [snake(n) for n in PARAM.findall(path)], path


def test_functions_without_http_events_register_no_routes() -> None:
    # Given every function without HttpApi events, Then its app.py registers no route the gateway cannot reach
    for function in functions():
        if not function.routes:
            assert handler_routes((ROOT / "functions" / function.directory / "app.py").read_text()) == []


def test_handler_route_reader_finds_every_form() -> None:
    # Given an app.py registering routes in each form Powertools offers, and decorators that are not routes
    source = """
app = create_app()
other = object()

@app.get("/orders/<order_id>")
def one(order_id): ...

@app.route("/cart/lines/<sku>", method=["PUT", "DELETE"])
def two(sku): ...

@app.exception_handler(ValueError)
@other.get("/not/a/resolver")
def three(): ...
"""
    # When it is read, Then exactly the resolver's routes come out, in the template's spelling
    assert handler_routes(source) == [
        ("GET", "/orders/{order_id}"),
        ("PUT", "/cart/lines/{sku}"),
        ("DELETE", "/cart/lines/{sku}"),
    ]
    assert snake("checkoutId") == "checkout_id"


# ---------------------------------------------------------------------------------------------- template <-> openapi


def test_template_routes_declare_their_path_parameters_in_openapi() -> None:
    # Given every template route and openapi.yaml's operations (with path-level parameters)
    described = dict(operations())
    for function in HTTP_FUNCTIONS:
        for route in function.routes:
            assert route in described, f"{route} of {function.logical_id} is not in openapi.yaml"
            op = described[route]
            # Then the operation declares exactly the route's path parameters, each required
            params = [resolve(p) for p in op.get("parameters", [])]
            in_path = [p for p in params if p["in"] == "path"]
            assert sorted(p["name"] for p in in_path) == sorted(PARAM.findall(route[1])), route
            assert all(p.get("required") is True for p in in_path), route


# ---------------------------------------------------------------------------------------------- events/


def test_every_function_has_a_sample_and_every_sample_a_function() -> None:
    # Given the functions of template.yaml and the samples in events/
    directories = {f.directory for f in functions()}
    samples = {p.stem for p in EVENTS.glob("*.json")}
    # Then each function has events/<its directory>.json, and each sample is some function's
    assert directories - samples == set(), "functions without a sample event"
    assert samples - directories == set(), "samples of no function"


@pytest.mark.parametrize("function", HTTP_FUNCTIONS, ids=lambda f: f.directory)
def test_http_samples_are_api_gateway_v2_events_of_a_route(function: Function) -> None:
    # Given an HTTP function's sample
    event = sample(function)
    method, _, path = event["routeKey"].partition(" ")
    # Then it is a payload 2.0 event of one of the function's routes
    assert event["version"] == "2.0"
    assert (method, path) in function.routes, event["routeKey"]
    assert event["requestContext"]["routeKey"] == event["routeKey"]
    assert event["requestContext"]["http"]["method"] == method
    # And its raw path is that route with the sample's path parameters filled in
    names = PARAM.findall(path)
    given = event.get("pathParameters") or {}
    assert sorted(given) == sorted(names), event["routeKey"]
    assert event["rawPath"] == PARAM.sub(lambda m: given[m.group(1)], path)
    assert event["requestContext"]["http"]["path"] == event["rawPath"]


def test_other_samples_are_events_of_their_source() -> None:
    # Given each function that no HTTP route reaches
    for function in functions():
        if function.routes or "$default" in function.sources:  # the catch-all's sample: tests/unit/test_no_route.py
            continue
        event = sample(function)
        # Then its sample is not an HTTP event, and is shaped as its event source delivers it
        assert "routeKey" not in event, function.directory
        if "SQS" in function.sources:
            assert event["Records"], function.directory
            assert {r["eventSource"] for r in event["Records"]} == {"aws:sqs"}, function.directory
        if "Schedule" in function.sources:
            assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event"), function.directory
