"""Hostile input over HTTP: every served operation answers junk with a 4xx problem, never a 5xx, and changes nothing.

The operations are read from openapi.yaml (`x-served: true`), so an operation served later is attacked as soon
as the spec says it is served. For each one, hypothesis sends
- bodies: a valid body with one hostile mutation (a required field dropped, an unknown field, a wrong type, an
  out-of-range or huge number, a very long or unicode string, NaN, deep nesting, a lone surrogate), arbitrary
  JSON values, malformed or truncated JSON, bytes that are not UTF-8, base64-looking junk, an empty body and
  bodies over 64 KiB, under JSON and non-JSON content types;
- path parameters: unicode, `..`, very long, control characters, raw, percent-encoded and double-encoded;
- query strings: repeated keys, out-of-range `limit`, bad filters, unknown names, garbage cursors, cursors of
  other listings, and cursors with a correct MAC around a hostile position (signed with the local cloud's
  CursorSecret, read the way a leaked key would be used);
- credentials: the ones that reach the function (a session token, an operator's Cognito token) and bad ones
  (none, malformed or unknown tokens, forged JWTs, a customer on an operator route), and the operation's
  required headers (`Idempotency-Key`), mostly valid, sometimes hostile.

Every answer must be below 500 and carry X-Request-Id (or, where API Gateway answers itself, apigw-requestid);
every 4xx must be problem+json with `code`, `status` and `title`, except API Gateway's own 401 (its JWT
authorizer) and 404 (no route matches the path), which API.md allows. Where the request reaches the function, a
body that is certainly malformed must be a 400, and one over 64 KiB a 413, with a code the operation declares
for that status (VALIDATION_ERROR, PAYLOAD_TOO_LARGE; a webhook may say BAD_SIGNATURE first). Where the operation
writes, the state it could touch (the session's cart, the test's product and its stock, the orders) is read
after every refused request and must not have changed. `pytest --hypothesis-show-statistics` shows how the
examples spread over answers, credentials and kinds of body.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from commerce.api.pagination import CursorKeyring, CursorKeys, encode_cursor
from commerce.domain.catalog.schemas import ProductFilters
from commerce.domain.orders.schemas import OrderSearchFilters
from tests.e2e.conftest import Api

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
MAX_BODY_BYTES = 64 * 1024
PROBLEM = "application/problem+json"
CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")

# Deterministic for CI, no example database, and HTTP calls are too uneven for a deadline. The world fixture
# is built once per operation on purpose: state carries over between examples, and the checks re-read it.
HOSTILE = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    # No shrinking: every step is an HTTP call, so shrinking a failure takes minutes, and the labelled draws of
    # the failing example already say what was sent.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


# ---------------------------------------------------------------------------------------------- the spec


def resolve(node: Any) -> Any:
    """`node` with a top-level `$ref` followed (refs inside are followed as they are walked)."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    tags: tuple[str, ...]
    path_params: tuple[str, ...]
    query_params: tuple[tuple[str, dict[str, Any]], ...]
    body_schema: dict[str, Any] | None
    security_schemes: frozenset[str]
    required_headers: tuple[str, ...]
    responses: dict[str, Any] = field(repr=False)

    def codes(self, status: int) -> frozenset[str]:
        """The problem codes the spec declares for `status` (empty when it declares none)."""
        response = resolve(self.responses.get(str(status), {}))
        schema = resolve(response.get("content", {}).get(PROBLEM, {}).get("schema", {}))
        found: set[str] = set()
        for part in (schema, *schema.get("allOf", ())):
            found.update(resolve(part).get("properties", {}).get("code", {}).get("enum", ()))
        return frozenset(found)

    @property
    def operator_only(self) -> bool:
        return "operatorJwt" in self.security_schemes

    @property
    def needs_session(self) -> bool:
        return "sessionToken" in self.security_schemes

    @property
    def writes(self) -> bool:
        return self.method != "get"


def served_operations() -> list[Operation]:
    operations = []
    for path, item in SPEC["paths"].items():
        for method in HTTP_METHODS:
            spec = item.get(method)
            if not spec or spec.get("x-served") is not True:
                continue
            parameters = [resolve(p) for p in (*item.get("parameters", ()), *spec.get("parameters", ()))]
            body = resolve(spec.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema")
            operations.append(
                Operation(
                    operation_id=spec["operationId"],
                    method=method,
                    path=path,
                    tags=tuple(spec.get("tags", ())),
                    path_params=tuple(p["name"] for p in parameters if p["in"] == "path"),
                    query_params=tuple(
                        (p["name"], resolve(p.get("schema", {}))) for p in parameters if p["in"] == "query"
                    ),
                    body_schema=resolve(body) if body else None,
                    security_schemes=frozenset(
                        name for requirement in spec.get("security", ()) for name in requirement
                    ),
                    required_headers=tuple(p["name"] for p in parameters if p["in"] == "header" and p.get("required")),
                    responses=spec.get("responses", {}),
                )
            )
    return operations


OPERATIONS = served_operations()
PATH_OPERATIONS = [op for op in OPERATIONS if op.path_params]
BODY_OPERATIONS = [op for op in OPERATIONS if op.body_schema or op.writes]
LISTINGS = [op for op in OPERATIONS if op.method == "get" and op.query_params]
OTHER_READS = [op for op in OPERATIONS if op.method == "get" and not op.query_params]


def op_id(op: Operation) -> str:
    return op.operation_id


def test_the_spec_serves_the_operations_attacked_here() -> None:
    # The parametrisation below is only as good as the spec it reads: it must find the served surface.
    ids = {op.operation_id for op in OPERATIONS}
    assert {"health", "createSession", "addCartLine", "createProduct", "setInventory"} <= ids
    assert any(op.body_schema for op in OPERATIONS)
    assert any(op.query_params for op in OPERATIONS)


# ---------------------------------------------------------------------------------------------- the world


@dataclass
class World:
    """What one operation is attacked with and against: a product with stock, a session whose cart holds it."""

    api: Api = field(repr=False)
    op: Operation
    product_id: str
    sku: str
    name: str
    token: str
    foreign_cursor: str
    baseline: Any = field(default=None, repr=False)

    @property
    def operator(self) -> dict[str, str]:
        return self.api.operator()

    def path_values(self) -> dict[str, str]:
        """Path parameters that name this world's objects (or well-formed ids of objects that do not exist)."""
        return {
            "productId": self.product_id,
            "sku": self.sku,
            "orderId": str(uuid.UUID(int=0x5EED)),
            "checkoutId": str(uuid.UUID(int=0xC0FFEE)),
        }

    def url_path(self, overrides: dict[str, str] | None = None) -> str:
        values = {name: quote(value, safe="") for name, value in self.path_values().items()}
        values.update(overrides or {})
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], "x"), self.op.path)

    # ------------------------------------------------------------------ what a refused write must leave alone

    def observed(self) -> tuple[str, ...]:
        op = self.op
        if not op.writes or "sessions" in op.tags:
            return ()  # reads change nothing by contract; a session is not observable from outside
        if "cart" in op.tags:
            return ("cart",)
        if op.path.startswith(("/admin/products", "/admin/inventory")):
            return ("catalog",)
        if "orderId" in op.path_params:
            return ("orders",)
        return ("cart", "catalog", "orders")  # a write served later: watch everything

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        session = {"X-Session-Token": self.token}
        for part in self.observed():
            if part == "cart":
                state["cart"] = self._read("GET", "/cart", headers=session)
            elif part == "catalog":
                state["products"] = self._read(
                    "GET", "/admin/products", params={"q": self.name, "limit": "100"}, headers=self.operator
                )
                state["product"] = self._read("GET", f"/products/{self.product_id}")  # even if renamed
            elif part == "orders":
                # This session's orders only: other tests' checkouts may still be moving theirs.
                state["orders"] = self._read("GET", "/orders", params={"limit": "100"}, headers=session)
        return state

    def _read(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.api.call(method, path, **kwargs)
        return response.status_code, response.json()

    def check_unchanged(self, response: requests.Response, *, even_if_accepted: bool = False) -> None:
        """After a refused request (or any request aimed elsewhere), the observed state is as before."""
        if not self.observed():
            return
        if self.baseline is None:
            raise AssertionError("the baseline is read before the first request")
        self._settle(response)
        now = self.state()
        if even_if_accepted or 400 <= response.status_code < 500:
            assert now == self.baseline, f"state changed by {describe(response)}"
        self.baseline = now

    def _settle(self, response: requests.Response) -> None:
        """An accepted asynchronous request (202 + Location: a checkout) goes on changing things after the answer:
        follow it until it stops moving, so that its later changes are not blamed on the next, refused, request."""
        location = response.headers.get("Location")
        if response.status_code != 202 or not location:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            polled = self.api.call("GET", location, headers={"X-Session-Token": self.token})
            if polled.status_code != 200 or polled.json().get("status") not in ("QUEUED", "PROCESSING"):
                return
            time.sleep(0.2)
        raise AssertionError(f"{location} still moves after 30 s")

    def start(self) -> None:
        if self.observed() and self.baseline is None:
            self.baseline = self.state()


def make_world(api: Api, op: Operation) -> World:
    product = api.create_product(on_hand=5)
    token = api.new_session()
    added = api.call(
        "POST", "/cart/lines", json={"sku": product["sku"], "quantity": 1}, headers={"X-Session-Token": token}
    )
    assert added.status_code == 200, added.text
    cursor = api.call("GET", "/products", params={"limit": "1"}).json()["nextCursor"]
    assert cursor, "the demo catalog has more than one product"
    return World(api, op, product["productId"], product["sku"], product["name"], token, cursor)


@pytest.fixture(scope="module")
def shared_world(api: Api) -> World:
    return make_world(api, OPERATIONS[0])


@pytest.fixture
def world(request: pytest.FixtureRequest, api: Api, shared_world: World) -> World:
    """Reads share one world; every write gets its own, so what one accepts cannot blur another's checks."""
    op: Operation = request.param
    world = make_world(api, op) if op.writes else World(**{**shared_world.__dict__, "op": op, "baseline": None})
    world.start()
    return world


# ---------------------------------------------------------------------------------------------- answers


def describe(response: requests.Response) -> str:
    request = response.request
    url = str(request.url)
    body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
    return (
        f"{request.method} {url[:300]}{'...' if len(url) > 300 else ''} body={body[:300]!r}"
        f"{'...' if len(body) > 300 else ''} -> {response.status_code} {response.text[:500]}"
    )


def assert_answer(response: requests.Response, *, gateway: frozenset[int] = frozenset()) -> None:
    """The contract every answer keeps; `gateway` lists the statuses API Gateway may answer with its own body."""
    status = response.status_code
    # `pytest --hypothesis-show-statistics` shows how the answers spread over statuses and codes.
    event(f"{status} {response.headers.get('content-type', '').split(';')[0]}")
    assert status < 500, describe(response)
    assert response.headers.get("X-Request-Id") or response.headers.get("apigw-requestid"), describe(response)
    content_type = response.headers.get("content-type", "")
    if 200 <= status < 300:
        assert response.headers.get("X-Request-Id"), describe(response)
        return
    assert 400 <= status < 500, describe(response)
    if status in gateway and not response.headers.get("X-Request-Id"):
        # API Gateway itself (its JWT authorizer, or no route for the path): `{"message": ...}`, no function ran.
        assert content_type.startswith("application/json"), describe(response)
        assert isinstance(response.json().get("message"), str), describe(response)
        return
    assert content_type.startswith(PROBLEM), describe(response)
    assert response.headers.get("X-Request-Id"), describe(response)
    problem = response.json()
    assert problem.get("status") == status, describe(response)
    assert isinstance(problem.get("code"), str), describe(response)
    assert CODE.fullmatch(problem["code"]), describe(response)
    assert isinstance(problem.get("title"), str), describe(response)
    assert problem["title"], describe(response)


def assert_problem(response: requests.Response, status: int, code: str | Collection[str]) -> None:
    assert response.status_code == status, describe(response)
    assert response.json()["code"] in ({code} if isinstance(code, str) else code), describe(response)


def gateway_statuses(op: Operation, *extra: int) -> frozenset[int]:
    return frozenset({401} if op.operator_only else set()) | set(extra)


def send(
    world: World,
    method: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> requests.Response:
    """One request with `path` and `query` sent exactly as given (requests would re-quote hostile ones)."""
    api = world.api
    prepared = api.http.prepare_request(requests.Request(method.upper(), api.cloud.api_url, headers=headers, data=body))
    prepared.url = api.cloud.api_url + path + (f"?{query}" if query else "")
    return api.http.send(prepared, timeout=10)


# ---------------------------------------------------------------------------------------------- hostile values

HOSTILE_TEXT = [
    "",
    " ",
    "\t\n",
    "\x00",
    "\x7f\x1b[31m",
    ".",
    "..",
    "../../../etc/passwd",
    "..%2f..%2f",
    "%00",
    "%2e%2e%2f",
    "%",
    "%zz",
    "%C3",
    "ü",
    "ÄÖÜ-ß",
    "\U0001d518\U0001d52b\U0001d526\U0001d520",  # Fraktur: four bytes each in UTF-8
    "\u202egnp.exe",
    "\ufeffBOM",
    "\u0301",
    "é" * 300,
    "null",
    "true",
    "0",
    "-1",
    "1e999",
    "NaN",
    "[]",
    "{}",
    "'; DROP TABLE orders; --",
    '" OR 1=1 --',
    "${jndi:ldap://x/a}",
    "{{7*7}}",
    "<script>alert(1)</script>",
    "SKU#X",
    "PRODUCT#x",
    "SESSION#x",
    "CART#SESSION#x",
    "a\r\nX-Injected: 1",
    "A" * 64,
    "A" * 65,
    "A" * 2000,
    "x" * 9000,
]

HUGE_INTEGERS = [-(2**63), -(2**31), -1, 0, 2**31, 2**53, 2**63, 2**64, 10**30, -(10**30)]


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=40))


def weighted(*options: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """`st.one_of` with weights: one_of merges equal branches, so repeating a branch does not weigh it."""
    return st.sampled_from([strategy for weight, strategy in options for _ in range(weight)]).flatmap(lambda s: s)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from(HUGE_INTEGERS),
        st.floats(allow_nan=False, allow_infinity=False),
        hostile_text(),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(hostile_text(), inner, max_size=4)),
        max_leaves=max_leaves,
    )


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def type_fits(value: Any, schema: dict[str, Any]) -> bool:
    declared = schema.get("type")
    if declared is None:
        return True
    allowed = set(declared) if isinstance(declared, list) else {declared}
    if "number" in allowed:
        allowed.add("integer")
    return json_type(value) in allowed


# ---------------------------------------------------------------------------------------------- bodies


def example(schema: dict[str, Any], world: World, name: str = "") -> Any:
    """A valid value of `schema` naming this world's objects (the catalog listing finds it by name)."""
    schema = resolve(schema)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: example(props[key], world, key) for key in schema.get("required", props)}
    if kind == "array":
        return [example(schema["items"], world, name) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "integer":
        return {"quantity": 1, "onHand": 5, "amount": 1500}.get(name, max(1, schema.get("minimum", 1)))
    if kind == "boolean":
        return True
    known = {"sku": world.sku, "currency": "EUR", "country": "DE", "email": "hostile@example.com"}
    if name in known:
        return known[name]
    return world.name if name == "name" else "x"


@dataclass(frozen=True)
class Node:
    path: tuple[str | int, ...]
    schema: dict[str, Any]
    required: bool


def nodes(value: Any, schema: dict[str, Any], path: tuple[str | int, ...] = (), required: bool = True) -> list[Node]:
    schema = resolve(schema)
    found = [Node(path, schema, required)]
    if isinstance(value, dict):
        props, needed = schema.get("properties", {}), set(schema.get("required", ()))
        for key, child in value.items():
            found += nodes(child, props.get(key, {}), (*path, key), key in needed)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += nodes(child, schema.get("items", {}), (*path, index), True)
    return found


def set_at(document: Any, path: tuple[str | int, ...], value: Any) -> Any:
    if not path:
        return value
    copied = copy.deepcopy(document)
    target = copied
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copied


def drop_at(document: Any, path: tuple[str | int, ...]) -> Any:
    copied = copy.deepcopy(document)
    target = copied
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return copied


# What a body must get when the credentials reach the function: exactly 400, exactly 413, some 4xx, or anything.
INVALID, TOO_LARGE, REFUSED, ANY = "invalid", "too-large", "refused", "any"
_RAW = "\x00raw-token\x00"


@dataclass(frozen=True)
class BodyCase:
    label: str
    body: bytes | None
    expect: str


def encoded(document: Any, raw: str | None = None) -> bytes:
    text = json.dumps(document, ensure_ascii=False)
    if raw is not None:
        text = text.replace(json.dumps(_RAW), raw)
    return text.encode()


def parses(body: bytes) -> bool:
    try:
        json.loads(body.decode("utf-8"), parse_constant=lambda _: 0)
    except (ValueError, RecursionError):
        return False
    return True


def verdict(document: Any, schema: dict[str, Any]) -> str:
    """INVALID when `document` certainly breaks `schema` (a type, a required or unknown field), else ANY."""
    schema = resolve(schema)
    if not type_fits(document, schema):
        return INVALID
    if isinstance(document, dict) and schema.get("type") == "object":
        props = schema.get("properties", {})
        if set(schema.get("required", ())) - set(document) or set(document) - set(props):
            return INVALID
        if any(verdict(v, props[k]) == INVALID for k, v in document.items()):
            return INVALID
    if isinstance(document, list) and schema.get("type") == "array":
        if len(document) < schema.get("minItems", 0):
            return INVALID
        if any(verdict(v, schema.get("items", {})) == INVALID for v in document):
            return INVALID
    if isinstance(document, int) and not isinstance(document, bool) and schema.get("type") == "integer":
        if document < schema.get("minimum", document) or document > schema.get("maximum", document):
            return INVALID
        if abs(document) >= 2**53:
            return REFUSED  # no count or amount is that large; the spec's cap may be a 422 rather than a 400
    if isinstance(document, str) and schema.get("type") == "string":
        pattern = schema.get("pattern")
        if len(document) < schema.get("minLength", 0) or (pattern and not re.search(pattern, document)):
            return INVALID
    return ANY


@st.composite
def mutated_bodies(draw: st.DrawFn, schema: dict[str, Any], world: World) -> BodyCase:
    """A valid body with one hostile change at one place."""
    valid = example(schema, world)
    node = draw(st.sampled_from(nodes(valid, schema)))
    kind = draw(st.sampled_from(["drop", "unknown", "retype", "value", "bound", "raw", "long"]))
    if kind == "drop" and node.path:
        return BodyCase(f"drop {node.path}", encoded(drop_at(valid, node.path)), INVALID if node.required else ANY)
    if kind == "unknown" and node.schema.get("type") == "object":
        key = draw(hostile_text().filter(lambda k: k not in node.schema.get("properties", {})))
        document = set_at(valid, node.path, {**draw_at(valid, node.path), key: draw(json_values(4))})
        return BodyCase(f"unknown field {key!r} at {node.path}", encoded(document), INVALID)
    if kind == "retype":
        value = draw(json_values(4).filter(lambda v: not type_fits(v, node.schema)))
        return BodyCase(f"wrong type at {node.path}", encoded(set_at(valid, node.path, value)), INVALID)
    if kind == "bound" and node.schema.get("type") == "integer":
        value = draw(st.one_of(st.sampled_from(HUGE_INTEGERS), st.integers()))
        document = set_at(valid, node.path, value)
        return BodyCase(f"{value} at {node.path}", encoded(document), verdict(document, schema))
    if kind == "raw":
        token = draw(
            st.sampled_from(
                [
                    "NaN",
                    "Infinity",
                    "-Infinity",
                    "1e400",
                    "-1e400",
                    "1E+2",
                    "2.0",
                    "-0",
                    "0x10",
                    "01",
                    "1" + "0" * 30,
                    "9" * 5000,
                    "[" * 5000 + "]" * 5000,
                    "[" * 64 + "]" * 64,
                    '"\\ud800"',
                    '"\\udfff\\ud800"',
                    '"\\u0000"',
                    "'single'",
                    "undefined",
                    "True",
                    "",
                ]
            )
        )
        body = encoded(set_at(valid, node.path, _RAW), token)
        if not parses(body):
            return BodyCase(f"raw {token[:20]!r} at {node.path}", body, INVALID)
        document = json.loads(body, parse_constant=lambda _: float("nan"))
        return BodyCase(f"raw {token[:20]!r} at {node.path}", body, verdict(document, schema))
    if kind == "long":
        unit = draw(st.sampled_from(["A", "ü", "\U0001d518", "\x00", "\\", '"']))
        size = draw(st.sampled_from([300, 5_001, 30_000, MAX_BODY_BYTES]))
        document = set_at(valid, node.path, unit * size)
        body = encoded(document)
        expect = TOO_LARGE if len(body) > MAX_BODY_BYTES else verdict(document, schema)
        return BodyCase(f"{size} x {unit!r} at {node.path}", body, expect)
    value = draw(st.one_of(hostile_text(), json_values()))
    document = set_at(valid, node.path, value)
    return BodyCase(f"{value!r:.60} at {node.path}", encoded(document), verdict(document, schema))


def draw_at(document: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


@st.composite
def junk_bodies(draw: st.DrawFn, schema: dict[str, Any] | None, world: World) -> BodyCase:
    """Whole bodies that are not the operation's: other JSON, broken JSON, not JSON at all, too big."""
    valid = encoded(example(schema, world)) if schema else b'{"hostile": true}'
    kind = draw(st.sampled_from(["json", "truncated", "bytes", "base64", "empty", "bom", "utf16", "dup", "huge"]))
    if kind == "json":
        document = draw(json_values())
        body = json.dumps(document, ensure_ascii=draw(st.booleans())).encode()
        return BodyCase("other JSON", body, verdict(document, schema) if schema else ANY)
    if kind == "truncated":
        cut = draw(st.integers(0, len(valid) - 1))
        body = valid[:cut]
        return BodyCase(f"truncated at {cut}", body, INVALID if not parses(body) else ANY)
    if kind == "bytes":
        body = draw(st.binary(max_size=200))
        return BodyCase("random bytes", body, INVALID if not parses(body) else ANY)
    if kind == "base64":
        body = draw(st.sampled_from([base64.b64encode, base64.urlsafe_b64encode, base64.b32encode]))(valid)
        return BodyCase("base64 of a valid body", body, INVALID if not parses(body) else ANY)
    if kind == "empty":
        return BodyCase("empty", draw(st.sampled_from([b"", b" ", b"\r\n\t"])), INVALID)
    if kind == "bom":
        # RFC 8259 lets a parser ignore a BOM or refuse it: either is fine, as long as nothing breaks.
        return BodyCase("UTF-8 BOM", b"\xef\xbb\xbf" + valid, ANY)
    if kind == "utf16":
        return BodyCase(
            "UTF-16", valid.decode().encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32"]))), INVALID
        )
    if kind == "dup" and valid.startswith(b"{") and valid != b"{}":
        # Two values for one key: whichever the parser keeps, the other must not leak past validation.
        key = next(iter(json.loads(valid)))
        extra = json.dumps({key: draw(json_values(4))})[1:-1].encode()
        return BodyCase(f"duplicate key {key!r}", valid[:-1] + b", " + extra + b"}", ANY)
    size = draw(st.sampled_from([MAX_BODY_BYTES + 1, MAX_BODY_BYTES * 2, 1024 * 1024]))
    filler = draw(st.sampled_from([b"[", b" ", b"A", b'{"a":']))
    return BodyCase(f"{size} bytes of {filler!r}", (filler * size)[:size], TOO_LARGE)


CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=hostile",
    "application/octet-stream",
    "application/problem+json",
    "application/json; charset=utf-16",
    "image/png",
    "*/*",
    "garbage",
]


@st.composite
def required_headers(draw: st.DrawFn, op: Operation) -> tuple[dict[str, str], bool]:
    """The operation's required headers (an `Idempotency-Key`, say): mostly a fresh valid value, so that the
    body is what gets judged, sometimes a hostile one. Returns the headers and whether one is hostile."""
    headers, hostile = {}, False
    for name in op.required_headers:
        if draw(weighted((3, st.just(False)), (1, st.just(True)))):
            value = draw(st.one_of(header_text(), st.sampled_from(["", "x" * 300, "x" * 10_000])))
            hostile = True
        else:
            value = str(uuid.uuid4())
        if value or draw(st.booleans()):
            headers[name] = value
    return headers, hostile


# ---------------------------------------------------------------------------------------------- credentials

REACH = "reaches the function"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


CUSTOMER_POOL = ("UserPoolId", "UserPoolClientId")


@st.composite
def forged_jwts(draw: st.DrawFn, world: World) -> str:
    """Tokens shaped like Cognito's: real or junk header fields, admin claims, no valid signature."""
    real = world.api.cloud.id_token("admin")
    real_header = json.loads(base64.urlsafe_b64decode(real.split(".")[0] + "=="))
    kids = hostile_text()
    header = draw(
        st.one_of(
            st.fixed_dictionaries(
                {"alg": st.sampled_from(["RS256", "none", "HS256", "ES256", "None"])},
                optional={"kid": st.one_of(st.just(real_header.get("kid")), kids, st.integers())},
            ),
            json_values(4),
        )
    )
    outputs = world.api.cloud.outputs
    pool, client = ("OperatorUserPoolId", "OperatorUserPoolClientId") if world.op.operator_only else CUSTOMER_POOL
    claims = {
        "sub": "forged",
        "cognito:groups": ["admin"],
        "token_use": "id",
        "iss": f"https://cognito-idp.{outputs['Region']}.amazonaws.com/{outputs[pool]}",
        "aud": outputs[client],
        "exp": 4102444800,
        "iat": 1700000000,
    }
    payload = draw(st.one_of(st.just(claims), json_values(4)))
    signature = draw(st.sampled_from(["", b64url(b"\x00" * 256), real.split(".")[2][:-4] + "AAAA", "!!!"]))
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(payload).encode()), signature])


def header_text() -> st.SearchStrategy[str]:
    # What http.client can put in a header: latin-1, no line breaks.
    text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=120)
    return text.map(str.lstrip)  # and no leading whitespace, which requests refuses to send


def credentials(world: World) -> st.SearchStrategy[tuple[str, dict[str, str]]]:
    """(label, headers): mostly the credentials that reach the function, else bad ones of every kind."""
    op = world.op
    if op.operator_only:
        reach = {"Authorization": f"Bearer {world.api.cloud.id_token('admin')}"}
    elif op.needs_session:
        reach = {"X-Session-Token": world.token}
    else:
        reach = {}
    session = {"X-Session-Token": world.token}
    bad = st.one_of(
        st.just(("no credentials", {})),
        st.just(("a session token", session)) if op.operator_only else st.just(("an operator", world.operator)),
        st.just(("a customer", world.api.customer())),
        header_text().map(lambda t: ("a junk session token", {**session, "X-Session-Token": t})),
        st.just(("an unknown session token", {"X-Session-Token": "A" * 22 + "." + "B" * 43})),
        forged_jwts(world).map(lambda t: ("a forged JWT", {**reach, "Authorization": f"Bearer {t}"})),
        header_text().map(lambda t: ("a junk Authorization header", {**reach, "Authorization": t})),
        st.sampled_from(["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a.b.c", "bearer x"]).map(
            lambda t: ("a malformed Authorization header", {**reach, "Authorization": t})
        ),
    )
    return weighted((3, st.just((REACH, reach))), (1, bad))


# ---------------------------------------------------------------------------------------------- query strings


def garbage_cursors(world: World) -> st.SearchStrategy[str]:
    position = b64url(json.dumps({"name": "a", "productId": "b"}).encode())
    flipped = world.foreign_cursor[:-2] + ("A" if world.foreign_cursor[-2] != "A" else "B") + world.foreign_cursor[-1]
    return st.one_of(
        st.sampled_from(
            [
                world.foreign_cursor,  # a real cursor of another listing (or other filters)
                flipped,
                world.foreign_cursor + "." + world.foreign_cursor,
                f"{position}.{b64url(bytes(16))}",
                f"{b64url(b'[1,2]')}.{b64url(bytes(16))}",
                f"{b64url(b'{}')}.",
                ".",
                "a.b",
                "====.====",
                "null",
                "A" * 3000,
            ]
        ),
        hostile_text(),
        st.binary(max_size=60).map(lambda b: f"{b64url(b)}.{b64url(b[::-1])}"),
    )


def forged_cursors(world: World) -> st.SearchStrategy[str]:
    """Cursors with a correct MAC around a hostile position: signed with the local cloud's own cursor key, as if
    it had leaked, so that each listing's checks of the position it decodes are attacked too."""
    scopes = {
        "/products": ProductFilters().cursor_scope(),
        "/admin/products": ProductFilters().cursor_scope(),
        "/admin/orders": OrderSearchFilters().cursor_scope(),
        "/orders": f"orders\x1f{world.token.split('.')[0]}\x1f",  # GET /orders of this world's session
    }
    # Mostly the scope of the listing attacked (so that the MAC holds), else another listing's.
    own = st.just(scopes[world.op.path]) if world.op.path in scopes else st.sampled_from(sorted(scopes.values()))
    order_ids = st.one_of(st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()), hostile_text())
    product_ids = st.one_of(st.uuids().map(lambda u: u.hex), st.just(world.product_id), hostile_text())
    orders = st.fixed_dictionaries({"t": hostile_datetimes(), "id": order_ids})
    products = st.fixed_dictionaries({"n": hostile_text(), "id": product_ids})
    other = st.dictionaries(st.one_of(st.sampled_from(["t", "n", "id"]), hostile_text()), hostile_text(), max_size=3)
    positions = st.one_of(orders, products, other) if "orders" in world.op.path else st.one_of(products, orders, other)
    ring = cursor_keyring(world.api)
    return st.builds(
        lambda position, scope: str(encode_cursor(position, scope, ring)),
        positions,
        weighted((3, own), (1, st.sampled_from(sorted(scopes.values())))),
    )


def cursor_keyring(api: Api) -> CursorKeyring:
    """The keys the local cloud's list functions sign cursors with (its CursorSecret, from template.yaml)."""
    secrets = api.cloud.client("secretsmanager")
    [arn] = [s["ARN"] for s in secrets.list_secrets()["SecretList"] if "CursorSecret" in s["Name"]]
    key = secrets.get_secret_value(SecretId=arn)["SecretString"].encode()
    return CursorKeyring(lambda: CursorKeys(key))


def hostile_datetimes() -> st.SearchStrategy[str]:
    offsets = st.sampled_from(["Z", "+00:00", "+14:00", "-14:00", "+23:59", "-23:59", "", "+99:99", "z"])
    edges = st.sampled_from(
        ["0001-01-01T00:00:00", "9999-12-31T23:59:59.999999", "1970-01-01T00:00:00", "2024-02-30T00:00:00"]
    )
    moments = st.one_of(edges, st.datetimes().map(lambda d: d.isoformat()))
    junk = st.one_of(hostile_text(), st.sampled_from(["now", "1700000000", "-1"]))
    return weighted((2, st.tuples(moments, offsets).map("".join)), (1, junk))


def query_values(name: str, schema: dict[str, Any], world: World) -> st.SearchStrategy[str]:
    schema = resolve(schema)
    # A filter that also takes a blank value (`anyOf: [X, BlankFilter]`) is attacked as X
    schema = resolve(next((b for b in schema.get("anyOf", ()) if "BlankFilter" not in b.get("$ref", "")), schema))
    if name == "cursor":
        return st.one_of(forged_cursors(world), garbage_cursors(world))
    if schema.get("type") == "integer":
        edges = st.sampled_from(["0", "-1", "101", "100", "1", "20", "1.5", "1e2", " 5", "+5", "0x10", "٣", "", "∞"])
        return st.one_of(edges, st.integers().map(str), st.sampled_from(HUGE_INTEGERS).map(str), hostile_text())
    if "enum" in schema:
        values = [str(v) for v in schema["enum"]]
        variants = st.sampled_from(values).flatmap(lambda v: st.sampled_from([v.lower(), f" {v}", f"{v},{v}", v[:-1]]))
        return st.one_of(variants, hostile_text())
    if schema.get("format") == "date-time":
        return hostile_datetimes()
    if schema.get("format") == "email":
        return st.one_of(
            st.sampled_from(["a@b", "@", "a@", "@b", "a@@b", "a b@c", "%00@b", "x" * 300 + "@b", "ü@ü", "a@b,c@d"]),
            hostile_text(),
        )
    return hostile_text()


@st.composite
def query_strings(draw: st.DrawFn, world: World) -> tuple[str, str | None]:
    """A raw query string, and the `limit` it sends when that is certainly not an integer from 1 to 100."""
    declared = dict(world.op.query_params) or {"limit": {"type": "integer"}, "cursor": {"type": "string"}}
    names = weighted((2, st.sampled_from(sorted(declared))), (1, hostile_text()))
    pairs = draw(
        st.lists(
            names.flatmap(lambda n: st.tuples(st.just(n), query_values(n, declared.get(n, {}), world))),
            max_size=5,
        )
    )
    safe = draw(st.sampled_from(["", "", "%+&=", "/:,@", "%"]))
    parts = [f"{quote(k, safe=safe)}={quote(v, safe=safe)}" for k, v in pairs]
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from(["", "&", "limit", "=", "==", "&&&", "limit=1&limit=2", "cursor&cursor"])))
    # Repeated keys arrive joined by commas, so one out-of-range integer `limit` spoils the whole value.
    out_of_range = [v for k, v in pairs if k == "limit" and re.fullmatch(r"-?\d+", v) and not 1 <= int(v) <= 100]
    bad_limit = out_of_range[0] if out_of_range and "limit" in dict(world.op.query_params) else None
    return "&".join(parts), bad_limit


# ---------------------------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("world", BODY_OPERATIONS, ids=op_id, indirect=True)
@settings(HOSTILE, max_examples=30)
@given(data=st.data())
def test_hostile_bodies_are_refused_and_change_nothing(world: World, data: st.DataObject) -> None:
    op = world.op
    # Given a hostile body, under some content type, with good or bad credentials, maybe with a junk query
    schema = op.body_schema
    case = data.draw(
        st.one_of(mutated_bodies(schema, world), junk_bodies(schema, world)) if schema else junk_bodies(None, world),
        label="body",
    )
    event(f"body: {case.expect}")
    content_type = data.draw(st.sampled_from(CONTENT_TYPES), label="content type")
    who, headers = data.draw(credentials(world), label="credentials")
    event(f"credentials: {who}")
    query = data.draw(st.one_of(st.just(("", None)), query_strings(world)), label="query")[0]
    if content_type:
        headers = {**headers, "Content-Type": content_type}
    required, hostile_header = data.draw(required_headers(op), label="required headers")
    # When it is sent
    response = send(world, op.method, world.url_path(), query=query, headers={**headers, **required}, body=case.body)
    # Then the answer keeps the contract, and where the function reads the body it refuses what it must: a 400
    # or 413 with a code the operation declares for it (a webhook's signature is checked before its body)
    assert_answer(response, gateway=gateway_statuses(op))
    if who == REACH and not hostile_header and schema is not None and not op.query_params:
        if case.expect == TOO_LARGE:
            assert_problem(response, 413, op.codes(413) or {"PAYLOAD_TOO_LARGE"})
        elif case.expect == INVALID:
            assert_problem(response, 400, op.codes(400) or {"VALIDATION_ERROR"})
        elif case.expect == REFUSED:
            assert 400 <= response.status_code < 500, f"{case.label}: {describe(response)}"
    # And a refused write changed nothing
    world.check_unchanged(response)


@pytest.mark.parametrize("world", [op for op in OPERATIONS if op not in BODY_OPERATIONS], ids=op_id, indirect=True)
@settings(HOSTILE, max_examples=8)
@given(data=st.data())
def test_bodies_sent_to_reads_keep_the_contract(world: World, data: st.DataObject) -> None:
    # Reads take no body: whatever is sent along is ignored or refused, never a 5xx
    case = data.draw(junk_bodies(None, world), label="body")
    content_type = data.draw(st.sampled_from(CONTENT_TYPES), label="content type")
    _, headers = data.draw(credentials(world), label="credentials")
    headers = {**headers, "Content-Type": content_type} if content_type else headers
    response = send(world, world.op.method, world.url_path(), headers=headers, body=case.body)
    assert_answer(response, gateway=gateway_statuses(world.op))


@pytest.mark.parametrize("world", PATH_OPERATIONS, ids=op_id, indirect=True)
@settings(HOSTILE, max_examples=20)
@given(data=st.data())
def test_hostile_path_parameters_are_refused_and_change_nothing(world: World, data: st.DataObject) -> None:
    op = world.op
    # Given a hostile value for one path parameter, sent raw, percent-encoded or double-encoded
    name = data.draw(st.sampled_from(op.path_params), label="parameter")
    value = data.draw(hostile_text(), label="value")
    encode: Callable[[str], str] = data.draw(
        st.sampled_from(
            [
                lambda v: quote(v, safe=""),
                lambda v: quote(v, safe="/%.~"),
                lambda v: quote(quote(v, safe=""), safe=""),
                lambda v: quote(v.upper(), safe="%"),
            ]
        ),
        label="encoding",
    )
    _, headers = data.draw(credentials(world), label="credentials")
    body = encoded(example(op.body_schema, world)) if op.body_schema else None
    if body is not None:
        headers = {**headers, "Content-Type": "application/json"}
    headers = {**headers, **{name: str(uuid.uuid4()) for name in op.required_headers}}
    # When the operation is called on it (with a valid body, where it takes one)
    segment = encode(value)
    response = send(world, op.method, world.url_path({name: segment}), headers=headers, body=body)
    # Then the answer keeps the contract; API Gateway answers 404 itself only when no route matches the path
    no_route = "/" in segment or segment in ("", ".", "..")
    assert_answer(response, gateway=gateway_statuses(op, *([404] if no_route else [])))
    # And the world's own objects are untouched, whatever was answered: the request named something else
    world.check_unchanged(response, even_if_accepted=True)


@pytest.mark.parametrize("world", LISTINGS, ids=op_id, indirect=True)
@settings(HOSTILE, max_examples=60)
@given(data=st.data())
def test_hostile_query_strings_on_listings_are_refused(world: World, data: st.DataObject) -> None:
    # Given a query string with repeated keys, out-of-range limits, garbage cursors, bad filters or unknown names
    query, bad_limit = data.draw(query_strings(world), label="query")
    who, headers = data.draw(credentials(world), label="credentials")
    event(f"credentials: {who}")
    # When the listing is read with it
    response = send(world, "get", world.url_path(), query=query, headers=headers)
    # Then the answer keeps the contract, and an out-of-range limit is 400 VALIDATION_ERROR
    assert_answer(response, gateway=gateway_statuses(world.op))
    if who == REACH and bad_limit is not None:
        assert_problem(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("world", OTHER_READS, ids=op_id, indirect=True)
@settings(HOSTILE, max_examples=8)
@given(data=st.data())
def test_query_strings_where_none_are_expected_keep_the_contract(world: World, data: st.DataObject) -> None:
    query, _ = data.draw(query_strings(world), label="query")
    _, headers = data.draw(credentials(world), label="credentials")
    response = send(world, "get", world.url_path(), query=query, headers=headers)
    assert_answer(response, gateway=gateway_statuses(world.op))
