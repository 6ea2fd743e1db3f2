"""openapi.yaml is a valid OpenAPI document that stays in step with template.yaml, ErrorCode and shared/API.md.

The served set is computed from template.yaml on every run (functions are being added over time): every
HttpApi route of a function must be an `x-served: true` operation, and every `x-served: true` operation
must be such a route.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from commerce.domain.errors import ErrorCode
from tests.support.template import load_template

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
JSON = "application/json"
PROBLEM = "application/problem+json"
JWT_SCHEMES = {"customerJwt", "operatorJwt"}

Route = tuple[str, str]  # (METHOD, /path)

# The endpoint table of shared/API.md: the contract openapi.yaml must describe in full.
API_MD_ENDPOINTS: set[Route] = {
    ("GET", "/health"),
    ("POST", "/sessions"),
    ("DELETE", "/sessions/current"),
    ("GET", "/products"),
    ("GET", "/products/{productId}"),
    ("GET", "/cart"),
    ("POST", "/cart/lines"),
    ("PUT", "/cart/lines/{sku}"),
    ("DELETE", "/cart/lines/{sku}"),
    ("POST", "/checkouts"),
    ("GET", "/checkouts/{checkoutId}"),
    ("POST", "/checkouts/{checkoutId}/cancel"),
    ("GET", "/orders"),
    ("GET", "/orders/{orderId}"),
    ("POST", "/webhooks/payments/stripe"),
    ("GET", "/admin/products"),
    ("POST", "/admin/products"),
    ("PUT", "/admin/products/{productId}"),
    ("GET", "/admin/inventory/{sku}"),
    ("PUT", "/admin/inventory/{sku}"),
    ("GET", "/admin/orders"),
    ("GET", "/admin/orders/{orderId}"),
    ("POST", "/admin/orders/{orderId}/fulfill"),
    ("POST", "/admin/orders/{orderId}/fulfillments"),
    ("POST", "/admin/orders/{orderId}/cancel"),
    ("POST", "/admin/orders/{orderId}/refund"),
    ("GET", "/admin/checkouts/{checkoutId}"),
    ("GET", "/admin/checkouts"),
    ("GET", "/admin/queues"),
    ("POST", "/admin/queues/{queueName}/redrive"),
    ("GET", "/admin/upkeep"),
}

# Request bodies whose shape belongs to someone else (the payment provider), so they are not strict.
PROVIDER_BODIES: set[Route] = {("POST", "/webhooks/payments/stripe")}


# ---------------------------------------------------------------------------------------------- helpers


@cache
def spec() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI.read_text())


def resolve(node: Any, document: dict[str, Any] | None = None) -> Any:
    """Follow a local `$ref` (and refs to refs) to what it names."""
    document = document or spec()
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def operations(document: dict[str, Any] | None = None) -> Iterator[tuple[Route, dict[str, Any]]]:
    document = document or spec()
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield (method.upper(), path), item[method]


def served_in_openapi(document: dict[str, Any] | None = None) -> set[Route]:
    return {route for route, op in operations(document) if op.get("x-served") is True}


def template_routes(template: dict[str, Any]) -> dict[Route, str | None]:
    """Every HttpApi route of a function in `template`, with its effective authorizer (None: no authorizer)."""
    resources = template.get("Resources", {})
    global_auth = ((template.get("Globals") or {}).get("HttpApi") or {}).get("Auth") or {}
    routes: dict[Route, str | None] = {}
    for resource in resources.values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties") or {}
            # A route without Path/Method is the API's `$default` catch-all (functions/no_route), which no
            # OpenAPI path can describe: its answers (404/405 problems) are in openapi.yaml's description.
            if "Path" not in props and "Method" not in props:
                continue
            route = (str(props.get("Method", "ANY")).upper(), str(props.get("Path", "$default")))
            api_id = props.get("ApiId")
            api = resources.get(api_id["Ref"], {}) if isinstance(api_id, dict) and "Ref" in api_id else {}
            api_auth = (api.get("Properties") or {}).get("Auth") or global_auth
            authorizer = ((props.get("Auth") or {}).get("Authorizer")) or api_auth.get("DefaultAuthorizer")
            routes[route] = None if authorizer in (None, "NONE") else str(authorizer)
    return routes


def route_drift(template_served: set[Route], openapi_served: set[Route]) -> tuple[set[Route], set[Route]]:
    """(routes the template serves that openapi.yaml does not mark served, served operations with no route)."""
    return template_served - openapi_served, openapi_served - template_served


def needs_jwt(operation: dict[str, Any]) -> bool:
    """True when every security alternative of `operation` requires a Cognito JWT (so an authorizer may check it)."""
    alternatives = operation.get("security", spec().get("security", []))
    return bool(alternatives) and all(JWT_SCHEMES & set(alternative) for alternative in alternatives)


def problem_codes(response: dict[str, Any]) -> list[str] | None:
    """The `code` values a problem+json response narrows to (None if it does not narrow them)."""
    content = resolve(response).get("content", {})
    if PROBLEM not in content:
        return None
    schema = resolve(content[PROBLEM]["schema"])
    for part in schema.get("allOf", []):
        code = resolve(part).get("properties", {}).get("code")
        if code and "enum" in code:
            return list(code["enum"])
    return None


def loose_objects(schema: Any, where: str, seen: frozenset[int] = frozenset()) -> Iterator[str]:
    """Paths inside a request schema where an object accepts unknown fields or a number is not an integer."""
    schema = resolve(schema)
    if not isinstance(schema, dict) or id(schema) in seen:
        return
    seen = seen | {id(schema)}
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "object" in types and schema.get("additionalProperties") is not False:
        yield f"{where}: object without additionalProperties: false"
    if "number" in types:
        yield f"{where}: number (money and counts are integers)"
    for name, child in (schema.get("properties") or {}).items():
        yield from loose_objects(child, f"{where}.{name}", seen)
    if "items" in schema:
        yield from loose_objects(schema["items"], f"{where}[]", seen)
    for keyword in ("allOf", "oneOf", "anyOf"):
        for index, child in enumerate(schema.get(keyword, [])):
            yield from loose_objects(child, f"{where}<{keyword}{index}>", seen)


def problem_schema_codes() -> set[str]:
    problem = resolve(spec()["components"]["schemas"]["Problem"])
    return set(resolve(problem["properties"]["code"])["enum"])


# ---------------------------------------------------------------------------------------------- the document


def test_openapi_document_is_valid() -> None:
    # Given openapi.yaml, When the OpenAPI validator checks it, Then it raises nothing
    validate(spec())


def test_validator_rejects_a_broken_document() -> None:
    # Given openapi.yaml with one response stripped of its required description
    broken = yaml.safe_load(OPENAPI.read_text())
    del broken["paths"]["/health"]["get"]["responses"]["200"]["description"]
    # When it is validated, Then the validator refuses it (so the check above can fail)
    with pytest.raises(Exception, match="description"):
        validate(broken)


def test_every_api_md_endpoint_is_described() -> None:
    # Given the endpoint table of shared/API.md, When compared with openapi.yaml's operations
    described = {route for route, _ in operations()}
    # Then every endpoint is there, and nothing else is
    assert API_MD_ENDPOINTS - described == set()
    assert described - API_MD_ENDPOINTS == set()


def test_every_operation_declares_served_security_and_an_id() -> None:
    # Given every operation, Then it says whether it is served, who may call it and its unique id
    ids = [op.get("operationId") for _, op in operations()]
    assert len(ids) == len(set(ids))
    assert None not in ids
    for route, op in operations():
        assert isinstance(op.get("x-served"), bool), route
        assert "security" in op, route


# ---------------------------------------------------------------------------------------------- template.yaml


def test_every_template_route_is_served_in_openapi() -> None:
    # Given the HttpApi routes template.yaml gives its functions today
    routes = set(template_routes(load_template()))
    assert ("GET", "/health") in routes
    # When compared with the operations openapi.yaml marks x-served: true
    missing, _ = route_drift(routes, served_in_openapi())
    # Then each route is described and marked served
    assert missing == set(), f"routed in template.yaml but not `x-served: true` in openapi.yaml: {sorted(missing)}"


def test_every_served_operation_is_a_template_route() -> None:
    # Given the operations openapi.yaml marks x-served: true
    routes = set(template_routes(load_template()))
    # When compared with template.yaml's HttpApi routes
    _, extra = route_drift(routes, served_in_openapi())
    # Then each is routed to a function (unserved ones must say x-served: false)
    assert extra == set(), f"`x-served: true` in openapi.yaml but not routed in template.yaml: {sorted(extra)}"


def test_route_drift_is_detected_both_ways() -> None:
    # Given a template with one extra route and an openapi document that marks one unrouted operation served
    template = {
        "Resources": {
            "Api": {"Type": "AWS::Serverless::HttpApi", "Properties": {}},
            "HealthFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Events": {
                        "Health": {
                            "Type": "HttpApi",
                            "Properties": {"ApiId": {"Ref": "Api"}, "Method": "get", "Path": "/health"},
                        },
                        "Queue": {"Type": "SQS", "Properties": {}},
                    }
                },
            },
            "NewFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Events": {"New": {"Type": "HttpApi", "Properties": {"Method": "POST", "Path": "/new"}}}
                },
            },
        }
    }
    document = {
        "paths": {
            "/health": {"get": {"x-served": True}},
            "/orders": {"get": {"x-served": True}},
            "/later": {"post": {"x-served": False}},
        }
    }
    # When the two are compared
    missing, extra = route_drift(set(template_routes(template)), served_in_openapi(document))
    # Then both directions of drift are reported, and only they
    assert missing == {("POST", "/new")}
    assert extra == {("GET", "/orders")}


def test_jwt_authorizer_matches_security_of_served_routes() -> None:
    # Given each served operation and its route in template.yaml
    routes = template_routes(load_template())
    by_route = dict(operations())
    for route in served_in_openapi() & set(routes):
        # Then the route has the Cognito JWT authorizer exactly when every way to call it needs a JWT
        # (an authorizer on a session-only route would turn guests away; none on an admin route lets anyone in)
        assert (routes[route] is not None) == needs_jwt(by_route[route]), route


def test_admin_operations_are_for_operators_only() -> None:
    # Given every /admin operation, Then only an operator JWT (group admin) may call it; one outside admin gets 403
    for (method, path), op in operations():
        if path.startswith("/admin/"):
            assert op["security"] == [{"operatorJwt": ["admin"]}], (method, path)
            assert problem_codes(op["responses"]["403"]) == ["FORBIDDEN"], (method, path)
            assert problem_codes(op["responses"]["401"]) == ["UNAUTHENTICATED"], (method, path)


# ---------------------------------------------------------------------------------------------- problems


def test_problem_code_enum_equals_error_codes() -> None:
    # Given the Problem schema's code enum and the domain's ErrorCode, Then they are the same set
    assert problem_schema_codes() == {code.value for code in ErrorCode}


def test_every_problem_response_uses_codes_of_its_status() -> None:
    # Given every problem+json response of every operation
    for route, op in operations():
        for status, response in op["responses"].items():
            codes = problem_codes(response)
            if codes is None:
                continue
            # Then each code it may carry is an ErrorCode whose status is the response's status
            for code in codes:
                assert code in ErrorCode.__members__, (route, status, code)
                assert ErrorCode[code].status == int(status), (route, status, code)


def test_every_error_response_is_a_problem() -> None:
    # Given every 4xx/5xx response, Then it is problem+json narrowed to stable codes
    for route, op in operations():
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert problem_codes(response), (route, status)


def test_api_md_notable_errors_are_described() -> None:
    # Given the notable errors API.md lists per endpoint
    notable: dict[Route, dict[str, set[str]]] = {
        ("GET", "/products/{productId}"): {"404": {"NOT_FOUND"}},
        ("GET", "/cart"): {"401": {"UNAUTHENTICATED"}},
        ("POST", "/cart/lines"): {
            "400": {"VALIDATION_ERROR"},
            "404": {"SKU_NOT_FOUND"},
            "409": {"INSUFFICIENT_STOCK"},
            "422": {"CART_LIMIT"},
        },
        ("PUT", "/cart/lines/{sku}"): {
            "400": {"VALIDATION_ERROR"},
            "404": {"SKU_NOT_FOUND"},
            "409": {"INSUFFICIENT_STOCK"},
            "422": {"CART_LIMIT"},
        },
        ("DELETE", "/cart/lines/{sku}"): {"404": {"LINE_NOT_FOUND"}},
        ("POST", "/checkouts"): {
            "400": {"IDEMPOTENCY_KEY_REQUIRED"},
            "409": {"OUT_OF_STOCK", "CART_EMPTY", "REQUEST_IN_PROGRESS", "PURCHASE_LIMIT"},
            "422": {"IDEMPOTENCY_KEY_REUSED"},
            "429": {"BUSY"},
        },
        ("GET", "/checkouts/{checkoutId}"): {"404": {"NOT_FOUND"}},
        ("GET", "/orders/{orderId}"): {"404": {"NOT_FOUND"}},
        ("POST", "/webhooks/payments/stripe"): {"400": {"BAD_SIGNATURE"}},
        ("POST", "/admin/products"): {"400": {"VALIDATION_ERROR"}, "409": {"SKU_EXISTS"}},
        ("PUT", "/admin/products/{productId}"): {
            "400": {"VALIDATION_ERROR"},
            "404": {"NOT_FOUND"},
            "409": {"SKU_EXISTS"},
        },
        ("PUT", "/admin/inventory/{sku}"): {"400": {"VALIDATION_ERROR"}, "409": {"BELOW_RESERVED"}},
        ("GET", "/admin/orders/{orderId}"): {"404": {"NOT_FOUND"}},
        ("POST", "/admin/orders/{orderId}/fulfill"): {"409": {"INVALID_TRANSITION"}},
        ("POST", "/admin/orders/{orderId}/cancel"): {"409": {"INVALID_TRANSITION"}},
        ("POST", "/admin/orders/{orderId}/refund"): {"409": {"INVALID_TRANSITION"}},
        ("GET", "/admin/checkouts/{checkoutId}"): {"404": {"NOT_FOUND"}},
    }
    by_route = dict(operations())
    for route, responses in notable.items():
        for status, codes in responses.items():
            # Then the operation answers that status with (at least) those codes
            described = set(problem_codes(by_route[route]["responses"].get(status, {})) or [])
            assert codes <= described, (route, status, codes - described)


# ---------------------------------------------------------------------------------------------- headers and bodies


def test_every_response_carries_request_id() -> None:
    # Given every response of every operation, Then it declares the X-Request-Id header, required where only a
    # function can answer (API Gateway's own 401 body, GatewayMessage, comes with apigw-requestid instead)
    gateway = {"$ref": "#/components/schemas/GatewayMessage"}
    for route, op in operations():
        for status, response in op["responses"].items():
            header = resolve(resolve(response).get("headers", {}).get("X-Request-Id"))
            assert header, (route, status)
            bodies = [media.get("schema") for media in resolve(response).get("content", {}).values()]
            assert header.get("required") is (gateway not in bodies), (route, status)


def test_accepted_and_retry_responses_carry_their_headers() -> None:
    # Given every 202, 429 and 503 response, Then 202 has Location and 429/503 have Retry-After
    seen = set()
    for route, op in operations():
        for status, response in op["responses"].items():
            headers = resolve(response).get("headers", {})
            if status == "202":
                assert "Location" in headers, route
            if status in ("429", "503"):
                assert "Retry-After" in headers, (route, status)
            seen.add(status)
    assert {"202", "429", "503"} <= seen


def test_bodies_are_validated_and_size_limited() -> None:
    # Given every operation that takes a body, Then it documents 400 VALIDATION_ERROR and 413 PAYLOAD_TOO_LARGE
    for route, op in operations():
        if "requestBody" not in op:
            continue
        assert "VALIDATION_ERROR" in (problem_codes(op["responses"]["400"]) or []), route
        assert problem_codes(op["responses"]["413"]) == ["PAYLOAD_TOO_LARGE"], route
        assert JSON in resolve(op["requestBody"])["content"], route


def test_request_bodies_are_strict() -> None:
    # Given every request body of our own (not the payment provider's)
    for route, op in operations():
        if "requestBody" not in op or route in PROVIDER_BODIES:
            continue
        schema = resolve(op["requestBody"])["content"][JSON]["schema"]
        # Then no object in it accepts unknown fields and no number is a float
        assert list(loose_objects(schema, f"{route}")) == []


def test_strictness_check_finds_a_loose_object() -> None:
    # Given a body schema with a nested object that accepts unknown fields and a float
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"inner": {"type": "object"}, "price": {"type": "number"}},
    }
    # When it is checked, Then both are reported
    assert list(loose_objects(schema, "body")) == [
        "body.inner: object without additionalProperties: false",
        "body.price: number (money and counts are integers)",
    ]


def test_list_endpoints_paginate() -> None:
    # Given every operation answering a list envelope {"items","nextCursor"}
    lists = 0
    for route, op in operations():
        body = resolve(resolve(op["responses"].get("200", {})).get("content", {}).get(JSON, {}).get("schema"))
        if not body or set(body.get("required", [])) != {"items", "nextCursor"}:
            continue
        lists += 1
        params = {p["name"]: p for p in map(resolve, op.get("parameters", [])) if p["in"] == "query"}
        # Then it takes limit 1-100 (default 20) and cursor, and nextCursor may be null
        assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, route
        assert params["cursor"]["schema"]["type"] == "string", route
        assert "null" in resolve(body["properties"]["nextCursor"])["type"], route
    assert lists == 6  # products, admin products, orders, admin orders, admin checkouts, admin queues


def test_money_is_integer_minor_units() -> None:
    # Given the Money schema, Then amount is an integer and currency an ISO 4217 code, nothing else
    money = spec()["components"]["schemas"]["Money"]
    assert money["properties"]["amount"]["type"] == "integer"
    assert money["properties"]["currency"]["pattern"] == "^[A-Z]{3}$"
    assert money["additionalProperties"] is False
    assert set(money["required"]) == {"amount", "currency"}
