"""CORS of an HTTP API as its `CorsConfiguration` sets it, applied by the gateway rather than the functions.

With CORS configured, API Gateway answers preflight requests (OPTIONS with `Origin` and
`Access-Control-Request-Method`) itself, with 204 and no function call, whether or not an OPTIONS
route exists; it adds the configured headers to other responses for an allowed `Origin`, and ignores
any `access-control-*` headers the function returns. A disallowed origin, method or header gets a
204 without the access-control headers, which the browser treats as a refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _setting(config: Mapping[str, Any], name: str) -> Any:
    """A setting by its template name (AllowOrigins) or its OpenAPI name (allowOrigins)."""
    for key, value in config.items():
        if key.lower() == name.lower():
            return value
    return None


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


class CorsPolicy:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self.allow_origins = _as_list(_setting(config, "AllowOrigins"))
        self.allow_headers = [h.lower() for h in _as_list(_setting(config, "AllowHeaders"))]
        self.allow_methods = [m.upper() for m in _as_list(_setting(config, "AllowMethods"))]
        self.expose_headers = _as_list(_setting(config, "ExposeHeaders"))
        max_age = _setting(config, "MaxAge")
        self.max_age = None if max_age is None else int(max_age)
        credentials = _setting(config, "AllowCredentials")
        self.allow_credentials = credentials is True or str(credentials).lower() == "true"

    @staticmethod
    def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
        """`headers` has lower-cased names."""
        return method.upper() == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers

    def _origin_allowed(self, origin: str) -> bool:
        return "*" in self.allow_origins or origin.lower() in (o.lower() for o in self.allow_origins)

    def _allow_origin_value(self, origin: str) -> str:
        # A credentialed response may not use "*": the browser needs the exact origin.
        if "*" in self.allow_origins and not self.allow_credentials:
            return "*"
        return origin

    def preflight_headers(self, headers: Mapping[str, str]) -> list[tuple[str, str]]:
        """Headers of the 204 answer to a preflight; empty when the request is not allowed."""
        origin = headers["origin"]
        method = headers["access-control-request-method"].strip().upper()
        requested = [h.strip().lower() for h in headers.get("access-control-request-headers", "").split(",")]
        requested = [h for h in requested if h]
        if not self._origin_allowed(origin):
            return []
        if "*" not in self.allow_methods and method not in self.allow_methods:
            return []
        if "*" not in self.allow_headers and any(h not in self.allow_headers for h in requested):
            return []
        result = [("access-control-allow-origin", self._allow_origin_value(origin))]
        methods = [method] if "*" in self.allow_methods else self.allow_methods
        result.append(("access-control-allow-methods", ",".join(methods)))
        allowed_headers = requested if "*" in self.allow_headers else self.allow_headers
        if allowed_headers:
            result.append(("access-control-allow-headers", ",".join(allowed_headers)))
        if self.max_age is not None:
            result.append(("access-control-max-age", str(self.max_age)))
        if self.allow_credentials:
            result.append(("access-control-allow-credentials", "true"))
        return result

    def response_headers(self, headers: Mapping[str, str]) -> list[tuple[str, str]]:
        """Headers added to an actual (non-preflight) response; empty without an allowed `Origin`."""
        origin = headers.get("origin")
        if origin is None or not self._origin_allowed(origin):
            return []
        result = [("access-control-allow-origin", self._allow_origin_value(origin))]
        if self.expose_headers:
            result.append(("access-control-expose-headers", ",".join(self.expose_headers)))
        if self.allow_credentials:
            result.append(("access-control-allow-credentials", "true"))
        return result

    @staticmethod
    def overrides(header_name: str) -> bool:
        """Whether a function's response header is replaced by the gateway's CORS handling."""
        return header_name.lower().startswith("access-control-")
