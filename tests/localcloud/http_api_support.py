"""Shared fakes for the HTTP API gateway tests (no tests here): a recording `invoke`, RSA test keys
with a JWKS, token minting, and a builder for `HttpApi` models."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from werkzeug.test import Client, TestResponse

from localcloud.http_api import HttpApiGateway
from localcloud.model import HttpApi, HttpRoute, JwtAuthorizer

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
API_ID = "localapi01"
POOL_ID = "us-east-1_TestPool1"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
CLIENT_ID = "testclient1234567890"
KID = "test-key-1"


@dataclass
class RecordingInvoke:
    """A fake Lambda `invoke`: records every event and answers per function (a value or an exception)."""

    results: dict[str, Any] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, function: str, event: dict[str, Any]) -> Any:
        self.calls.append((function, event))
        result = self.results.get(function, {"statusCode": 200, "body": json.dumps({"function": function})})
        if isinstance(result, BaseException):
            raise result
        if callable(result):
            return result(event)
        return result

    @property
    def last_event(self) -> dict[str, Any]:
        assert self.calls, "the function was never invoked"
        return self.calls[-1][1]

    @property
    def functions(self) -> list[str]:
        return [function for function, _ in self.calls]


@cache
def private_key(name: str = "trusted") -> rsa.RSAPrivateKey:
    """One RSA key per name, generated once per test process."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_of(key: rsa.RSAPrivateKey, kid: str = KID) -> dict[str, Any]:
    public = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {"keys": [{**public, "kid": kid, "alg": "RS256", "use": "sig"}]}


class StaticJwks:
    """A JwksProvider with a fixed JWKS per issuer; counts lookups."""

    def __init__(self, documents: dict[str, dict[str, Any]]) -> None:
        self.documents = documents
        self.lookups: list[str] = []

    def __call__(self, issuer: str) -> dict[str, Any]:
        from localcloud.http_api import JwksUnavailable

        self.lookups.append(issuer)
        if issuer not in self.documents:
            raise JwksUnavailable(issuer)
        return self.documents[issuer]


def trusted_jwks() -> StaticJwks:
    return StaticJwks({ISSUER: jwks_of(private_key())})


def mint_token(
    *,
    use: str = "id",
    key: rsa.RSAPrivateKey | None = None,
    kid: str = KID,
    algorithm: str = "RS256",
    lifetime_seconds: int = 3600,
    **overrides: Any,
) -> str:
    """A Cognito-shaped ID token (`aud`) or access token (`client_id`, `scope`), signed with the test key."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "5f0e3d1c-0000-4000-8000-000000000001",
        "iss": ISSUER,
        "token_use": use,
        "iat": now - 5,
        "auth_time": now - 5,
        "exp": now + lifetime_seconds,
        "jti": "2b9c3a18-0000-4000-8000-000000000002",
    }
    if use == "id":
        claims.update({"aud": CLIENT_ID, "cognito:username": "alice", "email": "alice@example.com"})
    else:
        claims.update({"client_id": CLIENT_ID, "username": "alice", "scope": "aws.cognito.signin.user.admin"})
    claims.update(overrides)
    claims = {name: value for name, value in claims.items() if value is not None}
    signing_key = key if key is not None else private_key()
    return jwt.encode(claims, signing_key, algorithm=algorithm, headers={"kid": kid})


def authorizer(
    *, issuer: str = ISSUER, audience: tuple[str, ...] = (CLIENT_ID,), name: str = "CognitoAuthorizer"
) -> JwtAuthorizer:
    return JwtAuthorizer(name=name, identity_source="$request.header.Authorization", issuer=issuer, audience=audience)


def route(method: str, path: str, function: str, *, auth: bool = False, scopes: tuple[str, ...] = ()) -> HttpRoute:
    return HttpRoute(
        method=method,
        path=path,
        function=function,
        authorizer="CognitoAuthorizer" if auth else None,
        authorization_scopes=scopes,
    )


def make_api(
    *routes: HttpRoute,
    authorizers: dict[str, JwtAuthorizer] | None = None,
    cors: dict[str, Any] | None = None,
    throttling: dict[str, Any] | None = None,
) -> HttpApi:
    return HttpApi(
        logical_id="HttpApi",
        routes=tuple(routes),
        authorizers=authorizers if authorizers is not None else {"CognitoAuthorizer": authorizer()},
        cors=cors,
        throttling=throttling,
    )


def make_gateway(
    api: HttpApi,
    invoke: RecordingInvoke,
    *,
    jwks: Callable[[str], dict[str, Any]] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> HttpApiGateway:
    return HttpApiGateway(
        api,
        invoke,
        jwks if jwks is not None else trusted_jwks(),
        region=REGION,
        account_id=ACCOUNT_ID,
        api_id=API_ID,
        clock=clock,
    )


def client_for(
    *routes: HttpRoute, invoke: RecordingInvoke | None = None, **api_options: Any
) -> tuple[Client, RecordingInvoke]:
    """A werkzeug test client over a gateway for `routes`, and the fake `invoke` behind it."""
    recorder = invoke if invoke is not None else RecordingInvoke()
    # Cookies are sent as headers by the tests themselves, not kept in a jar between requests.
    return Client(make_gateway(make_api(*routes, **api_options), recorder), use_cookies=False), recorder


def json_body(response: TestResponse) -> Any:
    return json.loads(response.get_data(as_text=True))
