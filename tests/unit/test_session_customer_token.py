"""The customer JWT check: only RS256 tokens from our user pool, for our app client, unexpired, pass."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from commerce.adapters.cognito_jwt import CognitoJwtVerifier, issuer_for, jwks_url_for
from commerce.domain.errors import Unauthenticated

REGION = "eu-west-1"
POOL = "eu-west-1_AbCdEf123"
CLIENT = "storefront-client-id"
SUB = "7d0c6a8e-1f2b-4c3d-9e8f-0a1b2c3d4e5f"


@pytest.fixture(scope="module")
def pool_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def verifier(pool_key: rsa.RSAPrivateKey) -> CognitoJwtVerifier:
    # The pool's JWKS is stood in for by its one public key; the HTTP fetch is covered by integration tests.
    return CognitoJwtVerifier(
        region=REGION, user_pool_id=POOL, client_id=CLIENT, key_resolver=lambda _token: pool_key.public_key()
    )


def claims(use: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": issuer_for(REGION, POOL),
        "sub": SUB,
        "token_use": use,
        "iat": now,
        "auth_time": now,
        "exp": now + 3600,
    }
    base["aud" if use == "id" else "client_id"] = CLIENT
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(payload: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "key-1"})


def test_an_id_token_and_an_access_token_of_the_pool_give_the_subject(
    verifier: CognitoJwtVerifier, pool_key: rsa.RSAPrivateKey
) -> None:
    # Given an ID token (aud = client) and an access token (client_id = client), both signed by the pool
    id_token = sign(claims("id"), pool_key)
    access_token = sign(claims("access"), pool_key)
    # When they are verified, Then both name the customer
    assert verifier.customer_id(id_token) == SUB
    assert verifier.customer_id(access_token) == SUB


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(claims("id", iss="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other"), id="other-pool"),
        pytest.param(claims("id", aud="another-client"), id="id-token-other-client"),
        pytest.param(claims("access", client_id="another-client"), id="access-token-other-client"),
        pytest.param(claims("access", client_id=None), id="access-token-without-client"),
        pytest.param(claims("refresh"), id="unknown-token-use"),
        pytest.param(claims("id", token_use=None), id="no-token-use"),
        pytest.param(claims("id", exp=int(time.time()) - 10), id="expired"),
        pytest.param(claims("id", sub=None), id="no-subject"),
        pytest.param(claims("id", sub=""), id="empty-subject"),
    ],
)
def test_tokens_not_issued_by_the_pool_for_this_client_are_refused(
    verifier: CognitoJwtVerifier, pool_key: rsa.RSAPrivateKey, payload: dict[str, Any]
) -> None:
    # Given a correctly signed token whose claims are wrong in one way, When verified, Then it is 401
    with pytest.raises(Unauthenticated):
        verifier.customer_id(sign(payload, pool_key))


def test_a_token_signed_by_another_key_is_refused(verifier: CognitoJwtVerifier, other_key: rsa.RSAPrivateKey) -> None:
    # Given perfect claims signed with a key that is not the pool's, Then it is 401
    with pytest.raises(Unauthenticated):
        verifier.customer_id(sign(claims("id"), other_key))


def test_algorithm_confusion_and_unsigned_tokens_are_refused(
    verifier: CognitoJwtVerifier, pool_key: rsa.RSAPrivateKey
) -> None:
    # Given a token "signed" with HS256 using the public key as the secret, and an unsigned (alg none) token
    public_pem = pool_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs256, none = b64(b'{"alg":"HS256","typ":"JWT"}'), b64(b'{"alg":"none","typ":"JWT"}')
    body = b64(json.dumps(claims("id")).encode())
    mac = hmac.new(public_pem, f"{hs256}.{body}".encode(), hashlib.sha256).digest()
    confused = f"{hs256}.{body}.{b64(mac)}"
    unsigned = f"{none}.{body}."
    # Then neither passes
    for token in (confused, unsigned):
        with pytest.raises(Unauthenticated):
            verifier.customer_id(token)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "eyJhbGciOiJSUzI1NiJ9..", "Bearer x.y.z"])
def test_garbage_is_refused(verifier: CognitoJwtVerifier, garbage: str) -> None:
    # Given something that is not a JWT at all, Then it is 401 (not a 500)
    with pytest.raises(Unauthenticated):
        verifier.customer_id(garbage)


def test_jwks_comes_from_cognito_or_from_the_endpoint_override() -> None:
    # Given no endpoint override, Then the JWKS is Cognito's; Given the local cloud's endpoint, Then it is there
    assert jwks_url_for(REGION, POOL) == f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}/.well-known/jwks.json"
    assert jwks_url_for(REGION, POOL, "http://127.0.0.1:4566/") == f"http://127.0.0.1:4566/{POOL}/.well-known/jwks.json"
    # And the issuer never changes with the endpoint
    local = CognitoJwtVerifier(region=REGION, user_pool_id=POOL, client_id=CLIENT, endpoint_url="http://127.0.0.1:1")
    assert local.issuer == f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"
