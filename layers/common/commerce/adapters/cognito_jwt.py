"""Verifying a customer's Cognito JWT (ID or access token) inside a function, without an API authorizer.

Cart routes must also serve guests, so API Gateway's JWT authorizer cannot guard them; the function checks
an optional `Authorization: Bearer <jwt>` itself, exactly as the authorizer would:

- the signature is RS256 by a key of the user pool's JWKS (fetched once per container and cached; an
  unknown `kid` triggers at most one refetch per cooldown, which is how Cognito key rotation is picked up);
- `iss` is `https://cognito-idp.<region>.amazonaws.com/<userPoolId>` and `exp` is in the future;
- an ID token (`token_use` = `id`) names the app client in `aud`; an access token (`token_use` =
  `access`) names it in `client_id`.

The JWKS comes from `https://cognito-idp.<region>.amazonaws.com/<poolId>/.well-known/jwks.json`, or, when
boto3's standard endpoint override is set (`AWS_ENDPOINT_URL_COGNITO_IDP`, else `AWS_ENDPOINT_URL`), from
`<endpoint>/<poolId>/.well-known/jwks.json`: that is where the local cloud serves it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from commerce.domain.errors import Unauthenticated

if TYPE_CHECKING:
    from jwt import PyJWKClient

JWKS_CACHE_SECONDS = 3600  # Cognito rotates keys rarely; an unknown kid refetches sooner anyway
JWKS_FETCH_TIMEOUT_SECONDS = 3  # well inside the function timeout
ALGORITHMS = ["RS256"]  # never taken from the token header: no "none", no HS256 key confusion

KeyResolver = Callable[[str], Any]


class JwksUnavailable(RuntimeError):
    """The user pool's keys could not be fetched: a fault on our side, not the caller's (500, logged)."""


def issuer_for(region: str, user_pool_id: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def jwks_url_for(region: str, user_pool_id: str, endpoint_url: str | None = None) -> str:
    base = endpoint_url.rstrip("/") if endpoint_url else f"https://cognito-idp.{region}.amazonaws.com"
    return f"{base}/{user_pool_id}/.well-known/jwks.json"


@cache
def jwks_client(url: str) -> PyJWKClient:
    """One JWKS client (and key cache) per URL and container."""
    from jwt import PyJWKClient  # imported on first use: guests never pay for the crypto import

    return PyJWKClient(url, cache_keys=True, lifespan=JWKS_CACHE_SECONDS, timeout=JWKS_FETCH_TIMEOUT_SECONDS)


class CognitoJwtVerifier:
    def __init__(
        self,
        *,
        region: str,
        user_pool_id: str,
        client_id: str,
        endpoint_url: str | None = None,
        key_resolver: KeyResolver | None = None,
    ) -> None:
        """`key_resolver(token)` gives the public key for a token; by default the pool's JWKS does."""
        self.issuer = issuer_for(region, user_pool_id)
        self.jwks_url = jwks_url_for(region, user_pool_id, endpoint_url)
        self._client_id = client_id
        self._key_resolver = key_resolver or self._jwks_key

    def customer_id(self, token: str) -> str:
        """The verified token's `sub`, or Unauthenticated (401) for any token that is not valid."""
        import jwt

        try:
            key = self._key_resolver(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.PyJWKClientConnectionError as error:
            raise JwksUnavailable(f"cannot fetch the user pool's keys from {self.jwks_url}") from error
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"The bearer token is not valid: {error}") from error
        if not self._issued_for_client(claims):
            raise Unauthenticated("The bearer token was not issued for this app client")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("The bearer token has no subject")
        return subject

    def _issued_for_client(self, claims: dict[str, Any]) -> bool:
        use = claims.get("token_use")
        if use == "id":
            audience = claims.get("aud")
            return audience == self._client_id or (isinstance(audience, list) and self._client_id in audience)
        if use == "access":
            return claims.get("client_id") == self._client_id
        return False

    def _jwks_key(self, token: str) -> Any:
        return jwks_client(self.jwks_url).get_signing_key_from_jwt(token).key
