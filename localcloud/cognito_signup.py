"""Cognito's SignUp refusal for admin-only pools, which moto does not enforce.

A pool with `AdminCreateUserConfig.AllowAdminCreateUserOnly: true` (the operators' pool) takes users only from an
administrator (AdminCreateUser): Cognito answers a SignUp against any of its app clients with
NotAuthorizedException "SignUp is not permitted for this user pool". moto creates the user. This gate answers
as Cognito does, before moto sees the request; any other request passes on untouched.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import Any

from moto.cognitoidp.models import cognitoidp_backends

SIGN_UP_TARGET = "AWSCognitoIdentityProviderService.SignUp"


def _body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(data)  # moto reads it again
    return bytes(data)


def _admin_only(client_id: str) -> bool:
    for account in cognitoidp_backends.values():
        for backend in account.values():
            for pool in backend.user_pools.values():
                if client_id in pool.clients:
                    config = pool.extended_config.get("AdminCreateUserConfig") or {}
                    return bool(config.get("AllowAdminCreateUserOnly"))
    return False


def _refusal(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = json.dumps(
        {"__type": "NotAuthorizedException", "message": "SignUp is not permitted for this user pool"}
    ).encode()
    start_response(
        "400 Bad Request",
        [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))],
    )
    return [body]


def sign_up_gate(_service: str, environ: dict[str, Any]) -> Callable[..., Iterable[bytes]] | None:
    """The refusal for a SignUp on an admin-only pool's client; None (let it through) for anything else."""
    if environ.get("HTTP_X_AMZ_TARGET") != SIGN_UP_TARGET:
        return None
    try:
        client_id = str(json.loads(_body(environ) or b"{}").get("ClientId") or "")
    except ValueError:
        return None  # moto answers a malformed body as Cognito does
    return _refusal if client_id and _admin_only(client_id) else None
