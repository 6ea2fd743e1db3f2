"""Turning an HTTP request into the payload format 2.0 event API Gateway sends to a Lambda function.

What the function gets, as API Gateway builds it: header names lower-cased, repeated headers joined
with commas and the Cookie header moved to `cookies`; query parameters and path parameters
URL-decoded (repeated query keys comma-joined), each map absent when empty; `rawPath` and
`rawQueryString` as received; the body as text, or base64 with `isBase64Encoded` when it is binary
(a content type that is not text, JSON, XML or form data, or bytes that are not UTF-8); and a
`requestContext` for the `$default` stage with a unique request id.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote_plus

STAGE = "$default"

_TEXT_SUBTYPES = ("json", "xml", "javascript", "x-www-form-urlencoded", "graphql", "yaml", "csv")


def _from_wsgi(value: str) -> str:
    """WSGI carries header and URI bytes as latin-1 text; undo that to get what the client sent as UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


@dataclass(frozen=True)
class IncomingRequest:
    """An HTTP request as the gateway sees it, read once from the WSGI environ."""

    method: str
    raw_path: str
    raw_query_string: str
    headers: dict[str, str]  # lower-cased names, repeated headers comma-joined, Cookie included
    body: bytes
    source_ip: str
    protocol: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any], body: bytes) -> IncomingRequest:
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw_uri:
            raw_path, _, raw_query = _from_wsgi(str(raw_uri)).partition("?")
            # An absolute-form request target ("http://host/path") still names a path.
            if "://" in raw_path:
                raw_path = "/" + raw_path.split("://", 1)[1].partition("/")[2]
        else:
            raw_path = quote(_from_wsgi(str(environ.get("PATH_INFO", "/"))), safe="/:@!$&'()*+,;=-._~")
            raw_query = _from_wsgi(str(environ.get("QUERY_STRING", "")))
        headers: dict[str, str] = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                name = key[5:].replace("_", "-").lower()
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                name = key.replace("_", "-").lower()
            else:
                continue
            if value == "" and key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                continue
            headers[name] = _from_wsgi(str(value))
        return cls(
            method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
            raw_path=raw_path or "/",
            raw_query_string=raw_query,
            headers=headers,
            body=body,
            source_ip=str(environ.get("REMOTE_ADDR", "127.0.0.1")),
            protocol=str(environ.get("SERVER_PROTOCOL", "HTTP/1.1")),
        )

    @property
    def cookies(self) -> list[str]:
        header = self.headers.get("cookie", "")
        return [part.strip() for part in header.split(";") if part.strip()]

    @property
    def query_parameters(self) -> dict[str, str]:
        """Decoded query parameters; a repeated key's values are joined with commas."""
        result: dict[str, str] = {}
        for pair in self.raw_query_string.split("&"):
            if not pair:
                continue
            key, _, value = pair.partition("=")
            key, value = unquote_plus(key), unquote_plus(value)
            result[key] = f"{result[key]},{value}" if key in result else value
        return result


def new_request_id() -> str:
    """An id in API Gateway's shape (16 characters of base64, e.g. "Mc7UVioPPHcEKPA=")."""
    return base64.b64encode(secrets.token_bytes(11)).decode("ascii")


def _trace_id(epoch_seconds: float) -> str:
    return f"Root=1-{int(epoch_seconds):08x}-{os.urandom(12).hex()}"


def is_text_content_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = mime.partition("/")
    if kind == "text":
        return True
    if kind != "application":
        return False
    return any(subtype == s or subtype.endswith("+" + s) for s in _TEXT_SUBTYPES)


def encode_body(body: bytes, content_type: str | None) -> tuple[str, bool]:
    """The event's `body` and `isBase64Encoded` for a request body."""
    if is_text_content_type(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def _time_fields(epoch_seconds: float) -> tuple[str, int]:
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.strftime("%d/%b/%Y:%H:%M:%S +0000"), int(epoch_seconds * 1000)


def build_event(
    request: IncomingRequest,
    *,
    route_key: str,
    path_parameters: Mapping[str, str],
    authorizer: dict[str, Any] | None,
    request_id: str,
    account_id: str,
    api_id: str,
    default_domain: str | None = None,
    epoch_seconds: float | None = None,
) -> dict[str, Any]:
    """The payload format 2.0 event for one request on the `$default` stage."""
    now = time.time() if epoch_seconds is None else epoch_seconds
    host = request.headers.get("host") or default_domain or f"{api_id}.execute-api.localhost"
    headers = {name: value for name, value in request.headers.items() if name != "cookie"}
    # What API Gateway's own front end adds before the request reaches the integration.
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-forwarded-port", host.rpartition(":")[2] if ":" in host else "80")
    headers.setdefault("x-amzn-trace-id", _trace_id(now))
    time_text, time_epoch = _time_fields(now)
    request_context: dict[str, Any] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0].split(":", 1)[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": STAGE,
        "time": time_text,
        "timeEpoch": time_epoch,
    }
    if authorizer is not None:
        request_context["authorizer"] = authorizer
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query_string,
        "headers": headers,
        "requestContext": request_context,
        "isBase64Encoded": False,
    }
    cookies = request.cookies
    if cookies:
        event["cookies"] = cookies
    query = request.query_parameters
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if request.body:
        event["body"], event["isBase64Encoded"] = encode_body(request.body, request.headers.get("content-type"))
    return event
