"""The edge's SignUp gate: an admin-only pool (the operators') refuses self sign-up as Cognito does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud.cognito_signup import sign_up_gate
from localcloud.edge import EdgeApp
from localcloud.server import BackgroundServer

pytestmark = pytest.mark.localcloud

PASSWORD = "Correct-horse-42"


@pytest.fixture(scope="module")
def cognito() -> Iterator[Any]:
    edge = EdgeApp()
    edge.gate(sign_up_gate)
    with BackgroundServer(edge, name="signup-test-edge") as server:
        yield boto3.client(
            "cognito-idp",
            endpoint_url=server.url,
            region_name="eu-west-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )


def _pool_client(cognito: Any, *, admin_only: bool) -> tuple[str, str]:
    pool_id = cognito.create_user_pool(
        PoolName=f"pool-{uuid.uuid4().hex[:8]}",
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": admin_only},
    )["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="app")["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def test_sign_up_on_an_admin_only_pool_is_refused_and_creates_no_user(cognito: Any) -> None:
    # Given the operators' kind of pool: users come only from AdminCreateUser
    pool_id, client_id = _pool_client(cognito, admin_only=True)

    # When someone signs themselves up through its app client
    with pytest.raises(ClientError) as refused:
        cognito.sign_up(ClientId=client_id, Username="mallory", Password=PASSWORD)

    # Then Cognito's answer comes back, and there is no such user
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert refused.value.response["Error"]["Message"] == "SignUp is not permitted for this user pool"
    assert cognito.list_users(UserPoolId=pool_id)["Users"] == []
    # while an administrator can still create one
    cognito.admin_create_user(UserPoolId=pool_id, Username="operator", MessageAction="SUPPRESS")
    assert [u["Username"] for u in cognito.list_users(UserPoolId=pool_id)["Users"]] == ["operator"]


def test_sign_up_on_a_pool_open_to_sign_up_goes_through(cognito: Any) -> None:
    # Given the customers' kind of pool
    pool_id, client_id = _pool_client(cognito, admin_only=False)

    # When a customer signs up
    result = cognito.sign_up(ClientId=client_id, Username="alice", Password=PASSWORD)

    # Then the user exists (unconfirmed, as Cognito leaves it)
    assert result["UserSub"]
    assert [u["Username"] for u in cognito.list_users(UserPoolId=pool_id)["Users"]] == ["alice"]
