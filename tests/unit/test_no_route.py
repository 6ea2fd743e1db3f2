"""The `$default` route's function: unknown paths are 404 NOT_FOUND, known paths with another method 405
METHOD_NOT_ALLOWED with `Allow`, both problem+json; its route table is template.yaml's."""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

import pytest

from tests.support.handlers import load_handler
from tests.support.lambda_events import FakeLambdaContext
from tests.support.template import ROOT, load_template

SAMPLE = json.loads((ROOT / "events" / "no_route.json").read_text())


def template_routes() -> set[tuple[str, str]]:
    routes = set()
    for resource in load_template()["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            props = event.get("Properties") or {}
            if event.get("Type") == "HttpApi" and "Path" in props:
                routes.add((str(props["Method"]).upper(), str(props["Path"])))
    return routes


def call(method: str, path: str) -> dict[str, Any]:
    event = copy.deepcopy(SAMPLE)
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    return load_handler("no_route")(event, FakeLambdaContext())


def test_its_route_table_is_exactly_template_yamls() -> None:
    # Given the function's ROUTES and the HttpApi routes of template.yaml, Then they are the same set
    load_handler("no_route")
    assert template_routes() == sys.modules["functions.no_route.app"].ROUTES


UNKNOWN_PATHS = ["/nope", "/", "/products/a/b", "/admin", "/cart/lines/", "/%2e%2e/health", "/health/"]


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_unknown_paths_are_404_not_found_problems(path: str) -> None:
    # Given / When any method on a path no route serves / Then 404 NOT_FOUND as problem+json with the request id
    for method in ("GET", "POST", "PATCH"):
        response = call(method, path)
        assert response["statusCode"] == 404
        assert response["headers"]["Content-Type"] == "application/problem+json"
        assert response["headers"]["X-Request-Id"] == "req-1"
        problem = json.loads(response["body"])
        assert (problem["status"], problem["code"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/products", "GET"),
        ("PATCH", "/cart/lines/SKU-1", "DELETE, PUT"),
        ("GET", "/webhooks/payments/stripe", "POST"),
        ("POST", "/admin/products/p-1", "PUT"),
        ("DELETE", "/admin/inventory/SKU-1", "GET, PUT"),
    ],
)
def test_known_paths_with_another_method_are_405_with_allow(method: str, path: str, allow: str) -> None:
    # Given a path some route serves, When called with a method none serves there
    response = call(method, path)
    # Then 405 METHOD_NOT_ALLOWED as problem+json, and Allow lists the methods it does serve
    assert response["statusCode"] == 405
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert response["headers"]["Allow"] == allow
    assert json.loads(response["body"])["code"] == "METHOD_NOT_ALLOWED"
