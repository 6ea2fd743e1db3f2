"""Mapping a function's payload format 2.0 result to an HTTP response, and the gateway's own responses.

A dict with `statusCode` is a response: `headers`, `cookies` (each one a Set-Cookie header) and
`body` (base64-decoded when `isBase64Encoded`). Any other JSON value is the body of a 200 with
content type application/json, as API Gateway infers it. A result in neither shape (a statusCode
that is not a status, headers that are not a map of strings, a body that is not a string, bad
base64) is reported as MalformedResult, which the gateway answers with 502.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

# Hop-by-hop headers belong to one connection: a function cannot set them, and WSGI forbids them.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding"}
    | {"upgrade", "content-length"}
)


class MalformedResult(Exception):
    """The function returned something API Gateway cannot turn into a response."""


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def gateway_message(status: int, message: str, extra_headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    """One of API Gateway's own answers: `{"message": "..."}`."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return HttpResponse(status, [("content-type", "application/json"), *(extra_headers or [])], body)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        text = str(value)
        if "\n" in text or "\r" in text:
            raise MalformedResult("header values must not contain line breaks")
        return text
    raise MalformedResult(f"header values must be strings, got {type(value).__name__}")


def _status(value: Any) -> int:
    if isinstance(value, bool):
        raise MalformedResult("statusCode must be an integer")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or not 100 <= value <= 599:
        raise MalformedResult(f"statusCode must be an HTTP status, got {value!r}")
    return value


def _body(result: dict[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedResult(f"body must be a string, got {type(body).__name__}")
    if result.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as error:
            raise MalformedResult("isBase64Encoded is set but the body is not base64") from error
    return body.encode("utf-8")


def from_function_result(result: Any) -> HttpResponse:
    """The HTTP response for a function's return value; raises MalformedResult."""
    if not (isinstance(result, dict) and "statusCode" in result):
        try:
            body = json.dumps(result).encode("utf-8")
        except (TypeError, ValueError) as error:
            raise MalformedResult(f"the result is not JSON: {error}") from error
        return HttpResponse(200, [("content-type", "application/json")], body)
    status = _status(result["statusCode"])
    headers_field = result.get("headers") or {}
    if not isinstance(headers_field, dict):
        raise MalformedResult("headers must be a map")
    headers = [
        (str(name).lower(), _header_value(value))
        for name, value in headers_field.items()
        if str(name).lower() not in _HOP_BY_HOP
    ]
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(cookie, str) for cookie in cookies):
        raise MalformedResult("cookies must be a list of strings")
    headers.extend(("set-cookie", cookie) for cookie in cookies)
    if "isBase64Encoded" in result and not isinstance(result["isBase64Encoded"], bool):
        raise MalformedResult("isBase64Encoded must be a boolean")
    return HttpResponse(status, headers, _body(result))
