"""The local HTTP API's JWT authorizer against moto's real Cognito, reached through the edge."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from werkzeug.test import Client

from localcloud.edge import EdgeApp
from localcloud.http_api import CognitoJwks, JwksUnavailable
from localcloud.model import JwtAuthorizer
from localcloud.server import BackgroundServer
from tests.localcloud.http_api_support import RecordingInvoke, json_body, make_api, make_gateway, route

pytestmark = pytest.mark.localcloud

REGION = "us-east-1"
PASSWORD = "Correct-Horse-9-battery"


@pytest.fixture(scope="module")
def edge() -> Iterator[BackgroundServer]:
    with BackgroundServer(EdgeApp(), name="http-api-cognito-edge") as server:
        yield server


def _pool_with_user(cognito: Any, *, group: str | None) -> tuple[str, str, str]:
    """A user pool, an app client allowing USER_PASSWORD_AUTH and a confirmed user: (pool id, client id, username)."""
    pool_id = cognito.create_user_pool(PoolName=f"customers-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="storefront",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    username = f"user-{uuid.uuid4().hex[:8]}"
    cognito.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True)
    if group is not None:
        cognito.create_group(UserPoolId=pool_id, GroupName=group)
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
    return pool_id, client_id, username


def _sign_in(cognito: Any, client_id: str, username: str) -> dict[str, str]:
    result = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )
    tokens: dict[str, str] = result["AuthenticationResult"]
    return tokens


def test_cognito_id_and_access_tokens_pass_the_authorizer(edge: BackgroundServer) -> None:
    # Given a user pool on the edge with an operator in group "admin", signed in with USER_PASSWORD_AUTH
    cognito = boto3.client("cognito-idp", endpoint_url=edge.url, region_name=REGION)
    pool_id, client_id, username = _pool_with_user(cognito, group="admin")
    tokens = _sign_in(cognito, client_id, username)
    # ... and an API whose authorizer trusts that pool, as template.yaml configures it
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
    authorizer = JwtAuthorizer(
        name="CognitoAuthorizer",
        identity_source="$request.header.Authorization",
        issuer=issuer,
        audience=(client_id,),
    )
    invoke = RecordingInvoke()
    jwks = CognitoJwks(edge.url)
    api = make_api(
        route("GET", "/orders", "ListOrdersFunction", auth=True), authorizers={"CognitoAuthorizer": authorizer}
    )
    client = Client(make_gateway(api, invoke, jwks=jwks))

    # When the route is called with the ID token and then the access token
    with_id_token = client.get("/orders", headers={"Authorization": f"Bearer {tokens['IdToken']}"})
    with_access_token = client.get("/orders", headers={"Authorization": tokens["AccessToken"]})

    # Then both get through, and the function sees Cognito's claims the way API Gateway passes them
    assert with_id_token.status_code == 200
    assert with_access_token.status_code == 200
    id_claims = invoke.calls[0][1]["requestContext"]["authorizer"]["jwt"]["claims"]
    access_claims = invoke.calls[1][1]["requestContext"]["authorizer"]["jwt"]["claims"]
    assert id_claims["iss"] == issuer
    assert id_claims["aud"] == client_id
    assert id_claims["token_use"] == "id"
    assert id_claims["cognito:username"] == username
    assert id_claims["cognito:groups"] == "[admin]"
    assert access_claims["client_id"] == client_id
    assert access_claims["token_use"] == "access"
    assert access_claims["scope"] == "aws.cognito.signin.user.admin"
    # ... and the pool's keys were fetched from the edge once
    assert jwks(issuer) is jwks(issuer)


def test_a_token_from_another_pool_is_unauthorized(edge: BackgroundServer) -> None:
    # Given two pools on the edge and an API that trusts only the first
    cognito = boto3.client("cognito-idp", endpoint_url=edge.url, region_name=REGION)
    trusted_pool, trusted_client, _ = _pool_with_user(cognito, group=None)
    _, other_client, other_user = _pool_with_user(cognito, group=None)
    other_tokens = _sign_in(cognito, other_client, other_user)
    authorizer = JwtAuthorizer(
        name="CognitoAuthorizer",
        identity_source="$request.header.Authorization",
        issuer=f"https://cognito-idp.{REGION}.amazonaws.com/{trusted_pool}",
        audience=(trusted_client,),
    )
    invoke = RecordingInvoke()
    api = make_api(
        route("GET", "/orders", "ListOrdersFunction", auth=True), authorizers={"CognitoAuthorizer": authorizer}
    )
    client = Client(make_gateway(api, invoke, jwks=CognitoJwks(edge.url)))
    # When the other pool's ID token is presented
    response = client.get("/orders", headers={"Authorization": f"Bearer {other_tokens['IdToken']}"})
    # Then it is refused (moto signs every pool with one key, so the issuer check is what stops it)
    assert response.status_code == 401
    assert json_body(response) == {"message": "Unauthorized"}
    assert "valid issuer" in response.headers["www-authenticate"]
    assert invoke.calls == []


def test_cognito_jwks_maps_issuers_to_the_edge() -> None:
    # Given a provider for an edge URL
    jwks = CognitoJwks("http://127.0.0.1:4566/")
    # When Cognito and non-Cognito issuers are mapped
    # Then a pool's issuer maps to moto's JWKS path, and anything else is refused
    assert jwks.jwks_url("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123") == (
        "http://127.0.0.1:4566/eu-west-1_AbC123/.well-known/jwks.json"
    )
    with pytest.raises(JwksUnavailable):
        jwks("https://login.example.com/")
