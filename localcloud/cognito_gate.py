"""Cognito's answers that moto does not give, for admin-only and MFA-required pools (the operators').

SignUp:

A pool with `AdminCreateUserConfig.AllowAdminCreateUserOnly: true` (the operators' pool) takes users only from an
administrator (AdminCreateUser): Cognito answers a SignUp against any of its app clients with
NotAuthorizedException "SignUp is not permitted for this user pool". moto creates the user. This gate answers
as Cognito does, before moto sees the request; any other request passes on untouched.

InitiateAuth USER_PASSWORD_AUTH on a pool with `MfaConfiguration: "ON"` for a user with no verified software
token: Cognito answers the MFA_SETUP challenge (AssociateSoftwareToken and VerifySoftwareToken with its Session,
then RespondToAuthChallenge); moto hands out tokens. This gate answers MFA_SETUP with a session moto knows, and
refuses an MFA_SETUP answer for a user whose token was not verified, so no operator gets tokens without MFA.

TOTP codes: moto takes any code unless MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP is "true"; `check_totp_codes()`
turns the check on (RFC 6238, 30 s steps, on moto's one fixed secret, which AssociateSoftwareToken hands out).
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from moto.cognitoidp.models import cognitoidp_backends

SIGN_UP_TARGET = "AWSCognitoIdentityProviderService.SignUp"
INITIATE_AUTH_TARGET = "AWSCognitoIdentityProviderService.InitiateAuth"
RESPOND_TARGET = "AWSCognitoIdentityProviderService.RespondToAuthChallenge"


def check_totp_codes() -> None:
    """Make moto (in this process) refuse a wrong TOTP code, as Cognito does: CodeMismatchException."""
    os.environ["MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP"] = "true"


def _body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(data)  # moto reads it again
    return bytes(data)


def _pool_of(client_id: str) -> tuple[Any, Any] | None:
    """(backend, pool) holding app client `client_id`, or None."""
    for account in cognitoidp_backends.values():
        for backend in account.values():
            for pool in backend.user_pools.values():
                if client_id in pool.clients:
                    return backend, pool
    return None


def _answer(status: str, payload: dict[str, Any]) -> Callable[..., Iterable[bytes]]:
    body = json.dumps(payload).encode()

    def app(_environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response(status, [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def _not_authorized(message: str) -> Callable[..., Iterable[bytes]]:
    return _answer("400 Bad Request", {"__type": "NotAuthorizedException", "message": message})


def _sign_up(request: dict[str, Any]) -> Callable[..., Iterable[bytes]] | None:
    found = _pool_of(str(request.get("ClientId") or ""))
    if found is None:
        return None
    config = found[1].extended_config.get("AdminCreateUserConfig") or {}
    return (
        _not_authorized("SignUp is not permitted for this user pool")
        if config.get("AllowAdminCreateUserOnly")
        else None
    )


def _user_needing_setup(request: dict[str, Any], username: str) -> tuple[Any, Any, Any] | None:
    found = _pool_of(str(request.get("ClientId") or ""))
    if found is None or found[1].mfa_config != "ON" or not username:
        return None
    backend, pool = found
    user = pool._get_user(username)
    if user is None or user.token_verified or user.software_token_mfa_enabled:
        return None
    return backend, pool, user


def _initiate_auth(request: dict[str, Any]) -> Callable[..., Iterable[bytes]] | None:
    if request.get("AuthFlow") != "USER_PASSWORD_AUTH":
        return None
    params = request.get("AuthParameters") or {}
    needing = _user_needing_setup(request, str(params.get("USERNAME") or ""))
    if needing is None:
        return None
    backend, pool, user = needing
    if not user.enabled or user.password != params.get("PASSWORD") or user.status.value != "CONFIRMED":
        return None  # moto gives Cognito's refusals (wrong password, disabled, unconfirmed, new password)
    session = str(uuid.uuid4())
    backend.sessions[session] = (user.username, pool)
    return _answer(
        "200 OK",
        {
            "ChallengeName": "MFA_SETUP",
            "ChallengeParameters": {"MFAS_CAN_SETUP": json.dumps(["SOFTWARE_TOKEN_MFA"])},
            "Session": session,
        },
    )


def _respond(request: dict[str, Any]) -> Callable[..., Iterable[bytes]] | None:
    if request.get("ChallengeName") != "MFA_SETUP":
        return None
    username = str((request.get("ChallengeResponses") or {}).get("USERNAME") or "")
    if _user_needing_setup(request, username) is None:
        return None
    return _not_authorized("Invalid session for the user: the software token is not verified.")


HANDLERS = {SIGN_UP_TARGET: _sign_up, INITIATE_AUTH_TARGET: _initiate_auth, RESPOND_TARGET: _respond}


def cognito_gate(_service: str, environ: dict[str, Any]) -> Callable[..., Iterable[bytes]] | None:
    """Cognito's own answer where moto's differs (see the module doc); None (let it through) for anything else."""
    handler = HANDLERS.get(str(environ.get("HTTP_X_AMZ_TARGET") or ""))
    if handler is None:
        return None
    try:
        request = json.loads(_body(environ) or b"{}")
    except ValueError:
        return None  # moto answers a malformed body as Cognito does
    return handler(request) if isinstance(request, dict) else None
