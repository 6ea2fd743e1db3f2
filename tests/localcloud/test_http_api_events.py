"""The payload format 2.0 event the local HTTP API hands to a function, field by field."""

from __future__ import annotations

import base64
import http.client
import json

import pytest

from localcloud.server import BackgroundServer
from tests.localcloud.http_api_support import (
    ACCOUNT_ID,
    API_ID,
    RecordingInvoke,
    client_for,
    make_api,
    make_gateway,
    route,
)

pytestmark = pytest.mark.localcloud


def test_a_get_request_becomes_a_version_2_event() -> None:
    # Given GET /products/{productId}
    client, invoke = client_for(route("GET", "/products/{productId}", "GetProductFunction"))
    # When a request with a query, cookies and headers arrives
    response = client.get(
        "/products/p%2D1?expand=variants&tag=a&tag=b%20c&q=red+shirt&flag",
        headers={"Cookie": "session=abc; theme=dark", "User-Agent": "storefront/1.0", "X-Session-Token": "tok"},
        environ_base={"REMOTE_ADDR": "192.0.2.10"},
    )
    # Then the function got the event API Gateway would build
    assert response.status_code == 200
    assert invoke.functions == ["GetProductFunction"]
    event = invoke.last_event
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /products/{productId}"
    assert event["rawPath"] == "/products/p%2D1"
    assert event["rawQueryString"] == "expand=variants&tag=a&tag=b%20c&q=red+shirt&flag"
    assert event["queryStringParameters"] == {"expand": "variants", "tag": "a,b c", "q": "red shirt", "flag": ""}
    assert event["pathParameters"] == {"productId": "p-1"}
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["user-agent"] == "storefront/1.0"
    assert event["headers"]["x-session-token"] == "tok"
    assert event["headers"]["x-forwarded-for"] == "192.0.2.10"
    assert all(name == name.lower() for name in event["headers"])
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    assert "stageVariables" not in event
    context = event["requestContext"]
    assert context["accountId"] == ACCOUNT_ID
    assert context["apiId"] == API_ID
    assert context["stage"] == "$default"
    assert context["routeKey"] == "GET /products/{productId}"
    assert context["domainName"] == "localhost"
    assert context["domainPrefix"] == "localhost"
    assert context["http"] == {
        "method": "GET",
        "path": "/products/p%2D1",
        "protocol": "HTTP/1.1",
        "sourceIp": "192.0.2.10",
        "userAgent": "storefront/1.0",
    }
    assert context["requestId"] == response.headers["apigw-requestid"]
    assert isinstance(context["timeEpoch"], int)
    assert context["time"].endswith(" +0000")
    assert "authorizer" not in context


def test_absent_parts_are_absent() -> None:
    # Given a route without parameters
    client, invoke = client_for(route("GET", "/health", "HealthFunction"))
    # When a bare request arrives
    client.get("/health")
    # Then the event has no query, path parameters, cookies or body
    event = invoke.last_event
    for absent in ("queryStringParameters", "pathParameters", "cookies", "body"):
        assert absent not in event
    assert event["rawQueryString"] == ""


def test_every_request_gets_its_own_request_id() -> None:
    # Given a route
    client, invoke = client_for(route("GET", "/health", "HealthFunction"))
    # When it is called three times
    ids = {client.get("/health").headers["apigw-requestid"] for _ in range(3)}
    # Then three distinct ids reached the function and the client
    assert len(ids) == 3
    assert {event["requestContext"]["requestId"] for _, event in invoke.calls} == ids


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/problem+json",
        "application/xml",
        "application/x-www-form-urlencoded",
    ],
)
def test_text_bodies_are_passed_as_text(content_type: str) -> None:
    # Given POST /cart/lines
    client, invoke = client_for(route("POST", "/cart/lines", "AddCartLineFunction"))
    # When a text body is sent
    client.post("/cart/lines", data='{"sku": "TEE-RED-M", "note": "café"}'.encode(), content_type=content_type)
    # Then the function gets it as text
    event = invoke.last_event
    assert event["isBase64Encoded"] is False
    assert event["body"] == '{"sku": "TEE-RED-M", "note": "café"}'
    assert event["headers"]["content-type"] == content_type


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("image/png", b"\x89PNG\r\n\x1a\n\x00\x00"),
        ("application/octet-stream", b"plain ascii but binary type"),
        ("application/json", b"\xff\xfe not utf-8"),
        (None, b"no content type"),
    ],
)
def test_binary_bodies_are_base64_encoded(content_type: str | None, body: bytes) -> None:
    # Given POST /uploads
    client, invoke = client_for(route("POST", "/uploads", "UploadFunction"))
    # When a binary body (by type or by bytes) is sent
    headers = {"Content-Type": content_type} if content_type else {}
    client.post("/uploads", data=body, headers=headers)
    # Then the function gets it base64-encoded and flagged
    event = invoke.last_event
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_repeated_headers_are_comma_joined_over_real_http() -> None:
    # Given the gateway behind a real HTTP server
    invoke = RecordingInvoke()
    gateway = make_gateway(make_api(route("GET", "/echo", "EchoFunction")), invoke)
    with BackgroundServer(gateway, name="http-api-events-test") as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        # When a header is sent twice
        connection.putrequest("GET", "/echo?a=1")
        connection.putheader("X-Tag", "one")
        connection.putheader("X-Tag", "two")
        connection.putheader("Cookie", "a=1; b=2")
        connection.endheaders()
        response = connection.getresponse()
        payload = json.loads(response.read())
        connection.close()
    # Then the function sees one header with both values, and the host the client used
    assert response.status == 200
    assert payload == {"function": "EchoFunction"}
    event = invoke.last_event
    assert event["headers"]["x-tag"] == "one,two"
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["requestContext"]["domainName"] == f"127.0.0.1:{server.port}"
    assert event["requestContext"]["requestId"] == response.getheader("apigw-requestid")
