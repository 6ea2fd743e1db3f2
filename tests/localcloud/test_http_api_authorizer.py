"""The JWT authorizer of the local HTTP API: what gets through, what is refused, what the function sees."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from werkzeug.test import Client

from localcloud.http_api.jwt_authorizer import claim_as_string
from tests.localcloud.http_api_support import (
    CLIENT_ID,
    ISSUER,
    KID,
    RecordingInvoke,
    StaticJwks,
    authorizer,
    json_body,
    make_api,
    make_gateway,
    mint_token,
    private_key,
    route,
)

pytestmark = pytest.mark.localcloud

ORDERS = route("GET", "/orders", "ListOrdersFunction", auth=True)
ADMIN = route("GET", "/admin/orders", "ListAdminOrdersFunction", auth=True, scopes=("orders/admin", "orders/all"))


def _get(
    path: str, token: str | None, *, scheme: str = "Bearer "
) -> tuple[int, dict[str, str], object, RecordingInvoke]:
    invoke = RecordingInvoke()
    client = Client(make_gateway(make_api(ORDERS, ADMIN), invoke))
    headers = {"Authorization": f"{scheme}{token}"} if token is not None else {}
    response = client.get(path, headers=headers)
    body = json_body(response) if response.get_data() else None
    return response.status_code, dict(response.headers), body, invoke


def test_a_valid_id_token_gets_through_with_its_claims() -> None:
    # Given a route behind the Cognito authorizer and an ID token for the app client
    extra_claims: dict[str, Any] = {"cognito:groups": ["admin", "support"], "email_verified": True}
    token = mint_token(use="id", **extra_claims)
    # When the route is called with it
    status, _, _, invoke = _get("/orders", token)
    # Then the function runs and sees the claims as strings, arrays in "[a b]" form
    assert status == 200
    jwt_context = invoke.last_event["requestContext"]["authorizer"]["jwt"]
    claims = jwt_context["claims"]
    assert claims["aud"] == CLIENT_ID
    assert claims["iss"] == ISSUER
    assert claims["cognito:groups"] == "[admin support]"
    assert claims["email_verified"] == "true"
    assert claims["exp"].isdigit()
    assert all(isinstance(value, str) for value in claims.values())
    assert jwt_context["scopes"] is None


def test_a_valid_access_token_gets_through_by_its_client_id() -> None:
    # Given an access token, which has client_id and no aud
    token = mint_token(use="access")
    # When the route is called with it, without the "Bearer " prefix
    status, _, _, invoke = _get("/orders", token, scheme="")
    # Then the function runs
    assert status == 200
    assert invoke.last_event["requestContext"]["authorizer"]["jwt"]["claims"]["client_id"] == CLIENT_ID


@pytest.mark.parametrize(
    ("token_factory", "description"),
    [
        (lambda: mint_token(lifetime_seconds=-60), "the token has expired"),
        (lambda: mint_token(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"), "valid issuer"),
        (lambda: mint_token(aud="someone-else"), "the token does not have a valid audience"),
        (lambda: mint_token(use="access", client_id="someone-else"), "valid audience"),
        (lambda: mint_token(key=private_key("attacker")), "the token signature is invalid"),
        (lambda: mint_token(kid="unknown-kid"), "unknown-kid"),
        (lambda: mint_token(nbf=int(time.time()) + 600), "the token is not valid yet"),
        (lambda: mint_token(iat=int(time.time()) + 600), "issued in the future"),
        (lambda: mint_token(exp=None), "no expiry"),
        (lambda: "not-a-jwt", "malformed"),
    ],
    ids=[
        "expired",
        "wrong-issuer",
        "wrong-audience",
        "wrong-client-id",
        "bad-signature",
        "unknown-kid",
        "not-yet-valid",
        "issued-in-future",
        "no-exp",
        "garbage",
    ],
)
def test_an_invalid_token_is_unauthorized(token_factory: Callable[[], str], description: str) -> None:
    # Given a token that fails one of API Gateway's checks
    token = token_factory()
    # When the route is called with it
    status, headers, body, invoke = _get("/orders", token)
    # Then API Gateway's 401 comes back, naming the reason in www-authenticate, and the function never runs
    assert status == 401
    assert body == {"message": "Unauthorized"}
    assert headers["www-authenticate"].startswith('Bearer scope="" error="invalid_token" error_description="')
    assert description in headers["www-authenticate"]
    assert invoke.calls == []


def test_a_symmetric_token_is_refused_even_with_a_matching_kid() -> None:
    # Given an HS256 token (JWT authorizers accept RSA signatures only)
    token = jwt.encode(
        {"iss": ISSUER, "aud": CLIENT_ID, "exp": int(time.time()) + 60},
        "secret" * 8,
        algorithm="HS256",
        headers={"kid": KID},
    )
    # When the route is called with it
    status, headers, _, invoke = _get("/orders", token)
    # Then it is unauthorized
    assert status == 401
    assert "signing method HS256 is invalid" in headers["www-authenticate"]
    assert invoke.calls == []


@pytest.mark.parametrize("authorization", [None, "", "Bearer ", "Bearer"])
def test_a_missing_token_is_unauthorized(authorization: str | None) -> None:
    # Given no usable Authorization header
    invoke = RecordingInvoke()
    client = Client(make_gateway(make_api(ORDERS), invoke))
    headers = {"Authorization": authorization} if authorization is not None else {}
    # When the protected route is called
    response = client.get("/orders", headers=headers)
    # Then it is 401 with a bare Bearer challenge
    assert response.status_code == 401
    assert json_body(response) == {"message": "Unauthorized"}
    assert response.headers["www-authenticate"] == "Bearer"
    assert invoke.calls == []


def test_an_open_route_ignores_the_authorizer() -> None:
    # Given an open route
    invoke = RecordingInvoke()
    client = Client(make_gateway(make_api(route("GET", "/products", "ListProductsFunction")), invoke))
    # When it is called with a garbage token
    response = client.get("/products", headers={"Authorization": "Bearer garbage"})
    # Then the function runs and sees no authorizer context
    assert response.status_code == 200
    assert "authorizer" not in invoke.last_event["requestContext"]


def test_a_route_with_scopes_needs_one_of_them() -> None:
    # Given a route that requires orders/admin or orders/all
    # When an access token with one of them, one with neither, and an ID token (no scope) call it
    allowed = _get("/admin/orders", mint_token(use="access", scope="openid orders/all"))
    lacking = _get("/admin/orders", mint_token(use="access", scope="aws.cognito.signin.user.admin"))
    id_token = _get("/admin/orders", mint_token(use="id"))
    # Then the first gets through and sees its scopes; the others are forbidden
    assert allowed[0] == 200
    assert allowed[3].last_event["requestContext"]["authorizer"]["jwt"]["scopes"] == ["openid", "orders/all"]
    for status, headers, body, invoke in (lacking, id_token):
        assert status == 403
        assert body == {"message": "Forbidden"}
        assert 'error="insufficient_scope"' in headers["www-authenticate"]
        assert invoke.calls == []


def test_an_issuer_without_keys_is_the_gateways_fault() -> None:
    # Given an authorizer whose issuer's JWKS cannot be had
    invoke = RecordingInvoke()
    api = make_api(ORDERS, authorizers={"CognitoAuthorizer": authorizer()})
    client = Client(make_gateway(api, invoke, jwks=StaticJwks({})))
    # When a well-formed token is presented
    response = client.get("/orders", headers={"Authorization": f"Bearer {mint_token()}"})
    # Then API Gateway's 500 comes back and the function never runs
    assert response.status_code == 500
    assert json_body(response) == {"message": "Internal Server Error"}
    assert invoke.calls == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        (1700000000, "1700000000"),
        (True, "true"),
        (["admin"], "[admin]"),
        (["admin", "support"], "[admin support]"),
        ([], "[]"),
        ({"b": 1, "a": "x"}, "map[a:x b:1]"),
    ],
)
def test_claims_are_flattened_to_strings(value: object, expected: str) -> None:
    # Given a claim value of some JSON type
    # When it is passed to the function
    # Then it is the string API Gateway would pass
    assert claim_as_string(value) == expected


@pytest.mark.parametrize("kid", ["clé-ü-漢", "evil\r\nx-injected: 1", 'quote"d\\'])
def test_a_hostile_key_id_cannot_break_the_challenge_header(kid: str) -> None:
    # Given a token whose key id is not printable ASCII (or tries to inject a header)
    token = mint_token(kid=kid)
    # When it is presented, Then the answer is a plain 401 whose challenge header stays one clean line
    status, headers, body, invoke = _get("/orders", token)
    assert status == 401
    assert body == {"message": "Unauthorized"}
    challenge = headers["www-authenticate"]
    assert challenge.isascii()
    assert "\r" not in challenge
    assert "\n" not in challenge
    assert "x-injected" not in {name.lower() for name in headers}
    assert invoke.calls == []
