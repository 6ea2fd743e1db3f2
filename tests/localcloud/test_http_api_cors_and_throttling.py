"""CORS handled by the local HTTP API itself, and stage throttling as a token bucket."""

from __future__ import annotations

import json

import pytest
from werkzeug.test import Client, TestResponse

from tests.localcloud.http_api_support import RecordingInvoke, client_for, json_body, make_api, make_gateway, route

pytestmark = pytest.mark.localcloud

# As template.yaml configures the API, with one explicit origin instead of "*".
CORS = {
    "AllowOrigins": ["https://shop.example.com"],
    "AllowHeaders": ["content-type", "authorization", "x-session-token", "idempotency-key"],
    "AllowMethods": ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
    "ExposeHeaders": ["x-request-id", "location", "retry-after"],
    "MaxAge": 600,
}
CART_LINES = route("POST", "/cart/lines", "AddCartLineFunction")
ORIGIN = "https://shop.example.com"


def _preflight(
    client: Client, *, origin: str = ORIGIN, method: str = "POST", headers: str = "content-type"
) -> TestResponse:
    return client.options(
        "/cart/lines",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def test_a_preflight_is_answered_by_the_gateway() -> None:
    # Given CORS configured and no OPTIONS route
    client, invoke = client_for(CART_LINES, cors=CORS)
    # When the browser sends a preflight for POST with two custom headers
    response = _preflight(client, headers="Content-Type, X-Session-Token")
    # Then the gateway answers 204 with the configured access-control headers, without calling a function
    assert response.status_code == 204
    headers = response.headers
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-methods"] == "GET,POST,PUT,DELETE,OPTIONS"
    assert headers["access-control-allow-headers"] == "content-type,authorization,x-session-token,idempotency-key"
    assert headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in headers
    assert headers["apigw-requestid"]
    assert invoke.calls == []


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        ("https://evil.example.net", "POST", "content-type"),
        (ORIGIN, "PATCH", "content-type"),
        (ORIGIN, "POST", "x-not-allowed"),
    ],
    ids=["origin", "method", "header"],
)
def test_a_disallowed_preflight_gets_no_access_control_headers(origin: str, method: str, headers: str) -> None:
    # Given CORS for one origin, some methods and some headers
    client, invoke = client_for(CART_LINES, cors=CORS)
    # When a preflight asks for something outside of it
    response = _preflight(client, origin=origin, method=method, headers=headers)
    # Then the answer is a 204 the browser will refuse
    assert response.status_code == 204
    assert not [name for name, _ in response.headers.items() if name.lower().startswith("access-control-")]
    assert invoke.calls == []


def test_an_options_request_that_is_not_a_preflight_is_routed() -> None:
    # Given CORS configured and no OPTIONS route
    client, _ = client_for(CART_LINES, cors=CORS)
    # When OPTIONS arrives without Access-Control-Request-Method
    response = client.options("/cart/lines", headers={"Origin": ORIGIN})
    # Then it is routed like any request, and no route matches
    assert response.status_code == 404


def test_actual_responses_get_cors_headers_and_lose_the_functions_own() -> None:
    # Given CORS configured and a function that sets its own access-control header
    invoke = RecordingInvoke(
        results={
            "AddCartLineFunction": {
                "statusCode": 200,
                "headers": {"access-control-allow-origin": "*", "x-request-id": "r-1"},
                "body": json.dumps({"cartId": "c-1"}),
            }
        }
    )
    client, _ = client_for(CART_LINES, invoke=invoke, cors=CORS)
    # When an allowed origin posts, and another origin posts
    allowed = client.post("/cart/lines", json={"sku": "A"}, headers={"Origin": ORIGIN})
    other = client.post("/cart/lines", json={"sku": "A"}, headers={"Origin": "https://evil.example.net"})
    # Then the allowed origin gets the gateway's CORS headers, the other none, and the function's is dropped
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert allowed.headers["access-control-expose-headers"] == "x-request-id,location,retry-after"
    assert allowed.headers["x-request-id"] == "r-1"
    assert "access-control-allow-origin" not in other.headers
    assert json_body(other) == {"cartId": "c-1"}


def test_wildcard_origin_and_credentials() -> None:
    # Given CORS for any origin, and CORS with credentials for any origin
    wildcard, _ = client_for(CART_LINES, cors={**CORS, "AllowOrigins": ["*"]})
    credentialed, _ = client_for(CART_LINES, cors={**CORS, "AllowOrigins": ["*"], "AllowCredentials": True})
    # When preflights come from some origin
    plain = _preflight(wildcard, origin="https://anywhere.example.org")
    with_credentials = _preflight(credentialed, origin="https://anywhere.example.org")
    # Then "*" is answered without credentials; with credentials the origin itself is echoed
    assert plain.headers["access-control-allow-origin"] == "*"
    assert with_credentials.headers["access-control-allow-origin"] == "https://anywhere.example.org"
    assert with_credentials.headers["access-control-allow-credentials"] == "true"


def test_without_cors_a_preflight_is_just_an_unrouted_options_request() -> None:
    # Given no CORS configuration
    client, _ = client_for(CART_LINES)
    # When a preflight arrives
    response = _preflight(client)
    # Then nothing answers it
    assert response.status_code == 404


class FakeClock:
    """Monotonic time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_requests_over_the_burst_are_throttled_until_the_bucket_refills() -> None:
    # Given a burst of 3 and a rate of 2 requests per second, on a clock that stands still
    clock = FakeClock()
    invoke = RecordingInvoke()
    api = make_api(
        route("GET", "/health", "HealthFunction"),
        throttling={"ThrottlingBurstLimit": "3", "ThrottlingRateLimit": 2},
    )
    client = Client(make_gateway(api, invoke, clock=clock))
    # When five requests arrive at once
    burst = [client.get("/health").status_code for _ in range(5)]
    # Then three get through and two are throttled with API Gateway's body
    assert burst == [200, 200, 200, 429, 429]
    throttled = client.get("/health")
    assert json_body(throttled) == {"message": "Too Many Requests"}
    assert throttled.headers["apigw-requestid"]
    assert len(invoke.calls) == 3

    # When half a second passes (one token at 2/s), and then ten seconds (refill capped at the burst)
    clock.now += 0.5
    after_half_second = [client.get("/health").status_code for _ in range(2)]
    clock.now += 10
    after_ten_seconds = [client.get("/health").status_code for _ in range(4)]
    # Then one more request gets through, and then no more than the burst
    assert after_half_second == [200, 429]
    assert after_ten_seconds == [200, 200, 200, 429]


def test_no_throttling_settings_means_no_throttling() -> None:
    # Given an API without DefaultRouteSettings
    clock = FakeClock()
    client = Client(make_gateway(make_api(route("GET", "/health", "HealthFunction")), RecordingInvoke(), clock=clock))
    # When many requests arrive at the same instant
    statuses = {client.get("/health").status_code for _ in range(50)}
    # Then none is throttled
    assert statuses == {200}


def test_a_route_with_route_settings_has_its_own_bucket_and_the_others_share_the_default() -> None:
    # Given a stage default of 3 requests and "POST /checkouts" limited to 1, on a clock that stands still
    clock = FakeClock()
    invoke = RecordingInvoke()
    api = make_api(
        route("GET", "/health", "HealthFunction"),
        route("POST", "/checkouts", "CreateCheckoutFunction"),
        throttling={
            "ThrottlingBurstLimit": 3,
            "ThrottlingRateLimit": 1,
            "RouteSettings": {"POST /checkouts": {"ThrottlingBurstLimit": "1", "ThrottlingRateLimit": "1"}},
        },
    )
    client = Client(make_gateway(api, invoke, clock=clock))
    # When a burst of checkouts arrives, Then one gets through and the rest get API Gateway's 429
    checkouts = [client.post("/checkouts") for _ in range(3)]
    assert [r.status_code for r in checkouts] == [200, 429, 429]
    assert json_body(checkouts[1]) == {"message": "Too Many Requests"}
    # And the other routes still have the whole default bucket (the checkouts did not use it)
    assert [client.get("/health").status_code for _ in range(4)] == [200, 200, 200, 429]
    # And a second later the checkout route has one token again
    clock.now += 1
    assert client.post("/checkouts").status_code == 200
    assert [call[0] for call in invoke.calls].count("CreateCheckoutFunction") == 2


def test_route_settings_alone_throttle_only_their_route() -> None:
    # Given no stage default, and one route limited to a burst of 2 that never refills
    clock = FakeClock()
    api = make_api(
        route("GET", "/health", "HealthFunction"),
        route("POST", "/sessions", "CreateSessionFunction"),
        throttling={"RouteSettings": {"POST /sessions": {"ThrottlingBurstLimit": 2, "ThrottlingRateLimit": 0}}},
    )
    client = Client(make_gateway(api, RecordingInvoke(), clock=clock))
    # When many requests arrive, Then only that route is throttled
    assert [client.post("/sessions").status_code for _ in range(4)] == [200, 200, 429, 429]
    assert {client.get("/health").status_code for _ in range(20)} == {200}
