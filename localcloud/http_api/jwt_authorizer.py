"""The JWT authorizer of an HTTP API, checking a bearer token the way API Gateway does.

API Gateway's documented workflow: take the token from the identity source (bare or prefixed with
"Bearer"), decode it, check its algorithm (RSA only) and its signature with the issuer's key named
by `kid`, then the claims: `iss` equals the configured issuer; `aud`, or `client_id` when the token
has no `aud`, is one of the configured audiences; `exp` is in the future, `nbf` and `iat` are not;
and, when the route sets authorization scopes, the token's `scope`/`scp` holds at least one of them.

A failed check is 401 `{"message":"Unauthorized"}` with a `www-authenticate` header naming the reason
in API Gateway's form; a token lacking every required scope is 403 `{"message":"Forbidden"}`.
Claims reach the function as strings, arrays in the "[a b]" form (e.g. `cognito:groups`); `scopes`
lists the token's scopes on a route that requires scopes and is null elsewhere.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.exceptions import InvalidSignatureError, PyJWKError, PyJWKSetError, PyJWTError

from localcloud.http_api.errors import JwksUnavailable
from localcloud.http_api.jwks import JwksProvider
from localcloud.model import JwtAuthorizer

# JWT authorizers accept RSA signatures only.
SUPPORTED_ALGORITHMS = ("RS256", "RS384", "RS512")


@dataclass(frozen=True)
class Authorization:
    """What the function sees under `requestContext.authorizer.jwt`."""

    claims: dict[str, str]
    scopes: list[str] | None

    def as_event_field(self) -> dict[str, Any]:
        return {"jwt": {"claims": self.claims, "scopes": self.scopes}}


class AuthorizationFailed(Exception):
    """The request does not get through; `status` is 401 or 403 with API Gateway's body and header."""

    def __init__(self, status: int, www_authenticate: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.www_authenticate = www_authenticate
        self.reason = reason

    @property
    def message(self) -> str:
        return "Unauthorized" if self.status == 401 else "Forbidden"


def _header_text(text: str) -> str:
    """`text` fit for a quoted header parameter: token-controlled text (a `kid`, say) must never break the
    header (non-latin-1 characters, CR/LF, quotes), so anything but printable ASCII becomes '?'."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in text)


def _invalid_token(description: str) -> AuthorizationFailed:
    return AuthorizationFailed(
        401, f'Bearer scope="" error="invalid_token" error_description="{_header_text(description)}"', description
    )


def _missing_token() -> AuthorizationFailed:
    return AuthorizationFailed(401, "Bearer", "no token in the identity source")


def _insufficient_scope(required: tuple[str, ...]) -> AuthorizationFailed:
    scopes = " ".join(required)
    description = f"expected scopes: [{scopes}]"
    return AuthorizationFailed(
        403, f'Bearer scope="{scopes}" error="insufficient_scope" error_description="{description}"', description
    )


def claim_as_string(value: Any) -> str:
    """One claim as API Gateway passes it: strings as they are, numbers and booleans in JSON form,
    arrays as "[a b]" (space-separated, no quotes), objects as "map[k:v]"."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + " ".join(claim_as_string(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{key}:{claim_as_string(value[key])}" for key in sorted(value)) + "]"
    return str(value)


def flatten_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    return {name: claim_as_string(value) for name, value in claims.items()}


def token_scopes(claims: Mapping[str, Any]) -> list[str]:
    """Scopes from `scope` (space-separated string, OAuth 2.0) or `scp` (string or array)."""
    scopes: list[str] = []
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            scopes.extend(value.split())
        elif isinstance(value, list):
            scopes.extend(str(item) for item in value)
    return scopes


def extract_token(identity_source: str, headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The token named by the identity source, with an optional "Bearer " prefix removed.

    `headers` must have lower-cased names. A JWT authorizer has one identity source; only the first
    of a comma-separated list is read.
    """
    source = identity_source.split(",")[0].strip()
    value: str | None = None
    if source.lower().startswith("$request.header."):
        value = headers.get(source[len("$request.header.") :].lower())
    elif source.lower().startswith("$request.querystring."):
        value = query.get(source[len("$request.querystring.") :])
    if value is None:
        return None
    value = value.strip()
    if value.lower() == "bearer":
        return None
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value or None


class JwtVerifier:
    """Checks tokens for every JWT authorizer of one API against their issuers' keys."""

    def __init__(self, jwks: JwksProvider, *, now: Callable[[], float] = time.time) -> None:
        self._jwks = jwks
        self._now = now

    def authorize(
        self,
        authorizer: JwtAuthorizer,
        required_scopes: tuple[str, ...],
        headers: Mapping[str, str],
        query: Mapping[str, str],
    ) -> Authorization:
        """The authorizer context for the function, or AuthorizationFailed.

        Raises JwksUnavailable when the issuer's keys cannot be had: that is the gateway's fault, not the caller's.
        """
        token = extract_token(authorizer.identity_source, headers, query)
        if token is None:
            raise _missing_token()
        claims = self._verified_claims(token, authorizer)
        self._check_claims(claims, authorizer)
        scopes = token_scopes(claims)
        if required_scopes and not set(required_scopes) & set(scopes):
            raise _insufficient_scope(required_scopes)
        return Authorization(flatten_claims(claims), scopes if required_scopes else None)

    def _verified_claims(self, token: str, authorizer: JwtAuthorizer) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError as error:
            raise _invalid_token(f"the token is malformed: {error}") from error
        algorithm = header.get("alg")
        if algorithm not in SUPPORTED_ALGORITHMS:
            raise _invalid_token(f"signing method {algorithm} is invalid")
        key = self._signing_key(authorizer.issuer, header.get("kid"), algorithm)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                # Claims are checked below, against the injected clock and with API Gateway's rules.
                options={
                    "verify_signature": True,
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except InvalidSignatureError as error:
            raise _invalid_token("the token signature is invalid") from error
        except PyJWTError as error:
            raise _invalid_token(f"the token is malformed: {error}") from error
        if not isinstance(claims, dict):
            raise _invalid_token("the token payload is not a JSON object")
        return claims

    def _signing_key(self, issuer: str, kid: Any, algorithm: str) -> Any:
        document = self._jwks(issuer)
        for jwk in document.get("keys", []):
            if not isinstance(jwk, dict) or jwk.get("kid") != kid or jwk.get("kty") != "RSA":
                continue
            if jwk.get("use", "sig") != "sig":
                continue
            if jwk.get("alg", algorithm) != algorithm:
                raise _invalid_token(f"signing method {algorithm} does not match the key's {jwk['alg']}")
            try:
                return jwt.PyJWK(jwk, algorithm).key
            except (PyJWKError, PyJWKSetError) as error:
                raise JwksUnavailable(f"the JWKS of {issuer} holds an unusable key {kid!r}: {error}") from error
        raise _invalid_token(f"the token's key id {kid} is not among the issuer's signing keys")

    def _check_claims(self, claims: Mapping[str, Any], authorizer: JwtAuthorizer) -> None:
        if claims.get("iss") != authorizer.issuer:
            raise _invalid_token("the token does not have a valid issuer")
        # API Gateway evaluates `aud` when present and falls back to `client_id` (Cognito access tokens).
        audience = claims["aud"] if "aud" in claims else claims.get("client_id")
        presented = audience if isinstance(audience, list) else [audience]
        if not set(authorizer.audience) & {item for item in presented if isinstance(item, str)}:
            raise _invalid_token("the token does not have a valid audience")
        now = self._now()
        expires = _numeric(claims.get("exp"))
        if expires is None:
            raise _invalid_token("the token has no expiry")
        if expires <= now:
            raise _invalid_token("the token has expired")
        not_before = _numeric(claims.get("nbf"))
        if "nbf" in claims and (not_before is None or not_before > now):
            raise _invalid_token("the token is not valid yet")
        issued_at = _numeric(claims.get("iat"))
        if "iat" in claims and (issued_at is None or issued_at > now):
            raise _invalid_token("the token was issued in the future")


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
