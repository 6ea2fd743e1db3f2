"""Where a JWT authorizer gets an issuer's signing keys (JWKS).

In AWS, API Gateway fetches `<issuer>/.well-known/jwks.json`. Locally the issuer is still the real
Cognito URL (moto puts `https://cognito-idp.<region>.amazonaws.com/<poolId>` in its tokens), so
`CognitoJwks` maps that issuer to the path moto serves on the edge: `<edge>/<poolId>/.well-known/jwks.json`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import requests

from localcloud.http_api.errors import JwksUnavailable

_COGNITO_ISSUER = re.compile(r"^https://cognito-idp\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<pool_id>[\w-]+)/?$")


# issuer -> its JSON Web Key Set (`{"keys": [...]}`); raises JwksUnavailable when it cannot be had.
JwksProvider = Callable[[str], dict[str, Any]]


class CognitoJwks:
    """JWKS of Cognito user pools served by the local edge (moto), fetched once per issuer and cached.

    Only successful fetches are cached, so an edge that was not up yet is asked again next time.
    """

    def __init__(self, edge_url: str, *, timeout_seconds: float = 5.0) -> None:
        self._edge_url = edge_url.rstrip("/")
        self._timeout = timeout_seconds
        self._cache: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._session = requests.Session()
        # The edge is on 127.0.0.1: a proxy from the environment must never sit in between.
        self._session.trust_env = False

    def jwks_url(self, issuer: str) -> str:
        match = _COGNITO_ISSUER.match(issuer)
        if match is None:
            raise JwksUnavailable(f"not a Cognito user pool issuer: {issuer}")
        return f"{self._edge_url}/{match['pool_id']}/.well-known/jwks.json"

    def __call__(self, issuer: str) -> dict[str, Any]:
        with self._lock:
            cached = self._cache.get(issuer)
        if cached is not None:
            return cached
        url = self.jwks_url(issuer)
        try:
            response = self._session.get(url, timeout=self._timeout)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as error:
            raise JwksUnavailable(f"cannot fetch the JWKS of {issuer} from {url}: {error}") from error
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise JwksUnavailable(f"{url} did not answer a JWKS document")
        with self._lock:
            self._cache[issuer] = document
        return document

    def close(self) -> None:
        """Let go of the connections to the edge (the cache stays: a later call connects again)."""
        self._session.close()
