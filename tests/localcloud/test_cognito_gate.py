"""The edge's Cognito gate: an admin-only, MFA-required pool (the operators') answers as Cognito does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud.cognito_gate import check_totp_codes, cognito_gate
from localcloud.edge import EdgeApp
from localcloud.server import BackgroundServer
from localcloud.totp import totp_code

pytestmark = pytest.mark.localcloud

PASSWORD = "Correct-horse-42"


@pytest.fixture(scope="module")
def cognito() -> Iterator[Any]:
    edge = EdgeApp()
    check_totp_codes()
    edge.gate(cognito_gate)
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


def test_an_operator_with_no_verified_token_must_set_up_totp_before_getting_tokens(cognito: Any) -> None:
    # Given an MFA-required pool and an operator an administrator created, with no software token yet
    pool_id, client_id = _pool_client(cognito, admin_only=True)
    cognito.set_user_pool_mfa_config(
        UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="ON"
    )
    cognito.admin_create_user(UserPoolId=pool_id, Username="op", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="op", Password=PASSWORD, Permanent=True)
    login = {"ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH"}
    params = {"USERNAME": "op", "PASSWORD": PASSWORD}

    # When they sign in with the password: Cognito asks for MFA setup, no tokens
    setup = cognito.initiate_auth(**login, AuthParameters=params)
    assert setup["ChallengeName"] == "MFA_SETUP"
    assert "AuthenticationResult" not in setup
    # and a wrong password is still refused
    with pytest.raises(ClientError) as wrong:
        cognito.initiate_auth(**login, AuthParameters={**params, "PASSWORD": "Wrong-horse-42"})
    assert wrong.value.response["Error"]["Code"] == "NotAuthorizedException"

    # Then answering MFA_SETUP without verifying a token is refused
    with pytest.raises(ClientError) as skipped:
        cognito.respond_to_auth_challenge(
            ClientId=client_id,
            ChallengeName="MFA_SETUP",
            Session=setup["Session"],
            ChallengeResponses={"USERNAME": "op"},
        )
    assert skipped.value.response["Error"]["Code"] == "NotAuthorizedException"

    # And associating and verifying a token with the session signs them in, and the next sign-in asks for a code
    secret = cognito.associate_software_token(Session=setup["Session"])
    code = totp_code(secret["SecretCode"])
    wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(ClientError) as mismatch:
        cognito.verify_software_token(Session=secret["Session"], UserCode=wrong_code)
    assert mismatch.value.response["Error"]["Code"] == "CodeMismatchException"
    verified = cognito.verify_software_token(Session=secret["Session"], UserCode=totp_code(secret["SecretCode"]))
    assert verified["Status"] == "SUCCESS"
    signed_in = cognito.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="MFA_SETUP",
        Session=verified["Session"],
        ChallengeResponses={"USERNAME": "op"},
    )
    assert signed_in["AuthenticationResult"]["AccessToken"]
    again = cognito.initiate_auth(**login, AuthParameters=params)
    assert again["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    assert "AuthenticationResult" not in again


def test_a_pool_without_mfa_signs_in_with_the_password_alone(cognito: Any) -> None:
    # Given the customers' kind of pool (MFA off) and a confirmed user
    pool_id, client_id = _pool_client(cognito, admin_only=False)
    cognito.admin_create_user(UserPoolId=pool_id, Username="alice", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="alice", Password=PASSWORD, Permanent=True)

    # When they sign in, Then tokens come back at once
    result = cognito.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD}
    )
    assert result["AuthenticationResult"]["IdToken"]
