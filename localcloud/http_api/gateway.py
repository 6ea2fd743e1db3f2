"""The local API Gateway: a WSGI app serving one HTTP API (payload format 2.0) of template.yaml.

A request goes through what API Gateway does, in order: route selection, stage throttling of the route
(its RouteSettings, else the default route settings: 429), the 10 MB payload limit (413), CORS preflight
(answered here, 204), an unmatched route (404), the route's JWT authorizer (401/403), then the function,
whose result becomes the response.

Failures are reported with API Gateway's own status codes and `{"message": ...}` bodies, after
Lambda's documentation ("If the function runs but returns an error, or returns a response in the
wrong format, API Gateway returns a 502"):

- the function ran and failed (crash, unhandled error, timeout: the runtime's `FunctionError`) → 502;
- the function returned something that is not a payload 2.0 response → 502;
- the Lambda service refused to run it (throttled, or any other `InvokeError` of the runtime) → 500;
- the authorizer's issuer keys cannot be had, or any fault of the gateway itself → 500.

Every response carries `apigw-requestid`, the same id as the event's `requestContext.requestId`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from http import HTTPStatus
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

from localcloud.http_api.cors import CorsPolicy
from localcloud.http_api.errors import JwksUnavailable
from localcloud.http_api.events import IncomingRequest, build_event, new_request_id
from localcloud.http_api.jwks import JwksProvider
from localcloud.http_api.jwt_authorizer import AuthorizationFailed, JwtVerifier
from localcloud.http_api.responses import HttpResponse, MalformedResult, from_function_result, gateway_message
from localcloud.http_api.routing import RouteMatch, RouteTable
from localcloud.http_api.throttling import Clock, stage_throttle
from localcloud.lambda_service.runtime import FunctionError, InvokeError
from localcloud.model import HttpApi

logger = logging.getLogger(__name__)

# API Gateway's payload limit for HTTP APIs.
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024

Invoke = Callable[[str, dict[str, Any]], Any]


def _internal_error() -> HttpResponse:
    return gateway_message(500, "Internal Server Error")


def _bad_gateway() -> HttpResponse:
    return gateway_message(502, "Internal Server Error")


class HttpApiGateway:
    """WSGI app for one `HttpApi`; `invoke(function_logical_id, event)` runs the function synchronously."""

    def __init__(
        self,
        api: HttpApi,
        invoke: Invoke,
        jwks: JwksProvider,
        *,
        region: str,
        account_id: str,
        api_id: str,
        clock: Clock = time.monotonic,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.api = api
        self._invoke = invoke
        self._region = region
        self._account_id = account_id
        self._api_id = api_id
        self._now = now
        self._routes = RouteTable(api.routes)
        self._verifier = JwtVerifier(jwks, now=now)
        self._cors = CorsPolicy(api.cors) if api.cors else None
        self._throttle = stage_throttle(api.throttling, clock)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request_id = new_request_id()
        try:
            response = self._handle(environ, request_id)
        except Exception:
            # The gateway boundary: whatever went wrong in here, the client gets API Gateway's 500, not a traceback.
            logger.exception("http api %s: request %s failed inside the gateway", self.api.logical_id, request_id)
            response = _internal_error()
        headers = [*response.headers, ("apigw-requestid", request_id), ("content-length", str(len(response.body)))]
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = "Unknown"
        start_response(f"{response.status} {phrase}", headers)
        if environ.get("REQUEST_METHOD", "").upper() == "HEAD":
            return []
        return [response.body]

    def _handle(self, environ: dict[str, Any], request_id: str) -> HttpResponse:
        head = IncomingRequest.from_environ(environ, b"")  # the body is read only once the request is admitted
        match = self._routes.match(head.method, head.raw_path)
        if not self._throttle.admits(match.route_key if match else None):
            return gateway_message(429, "Too Many Requests")
        body = self._read_body(environ)
        if body is None:
            return gateway_message(413, "Request Entity Too Large")
        request = replace(head, body=body)
        if self._cors is not None and CorsPolicy.is_preflight(request.method, request.headers):
            return HttpResponse(204, self._cors.preflight_headers(request.headers))
        response = self._route(request, request_id)
        if self._cors is not None:
            response.headers = [(k, v) for k, v in response.headers if not CorsPolicy.overrides(k)]
            response.headers.extend(self._cors.response_headers(request.headers))
        return response

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes | None:
        """The request body, or None when it is over the limit."""
        try:
            declared = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > MAX_REQUEST_BODY_BYTES:
            return None
        try:
            return get_input_stream(environ, max_content_length=MAX_REQUEST_BODY_BYTES).read()
        except RequestEntityTooLarge:
            return None

    def _route(self, request: IncomingRequest, request_id: str) -> HttpResponse:
        match = self._routes.match(request.method, request.raw_path)
        if match is None:
            return gateway_message(404, "Not Found")
        authorizer_field: dict[str, Any] | None = None
        if match.route.authorizer is not None:
            denied, authorizer_field = self._authorize(match, request, request_id)
            if denied is not None:
                return denied
        event = build_event(
            request,
            route_key=match.route_key,
            path_parameters=match.path_parameters,
            authorizer=authorizer_field,
            request_id=request_id,
            account_id=self._account_id,
            api_id=self._api_id,
            default_domain=f"{self._api_id}.execute-api.{self._region}.amazonaws.com",
            epoch_seconds=self._now(),
        )
        return self._call_function(match.route.function, event, request_id)

    def _authorize(
        self, match: RouteMatch, request: IncomingRequest, request_id: str
    ) -> tuple[HttpResponse | None, dict[str, Any] | None]:
        """(a refusal, None) or (None, the event's `requestContext.authorizer`)."""
        name = match.route.authorizer
        authorizer = self.api.authorizers.get(name) if name else None
        if authorizer is None:
            logger.error(
                "http api %s: route %s names an unknown authorizer %s", self.api.logical_id, match.route_key, name
            )
            return _internal_error(), None
        try:
            authorization = self._verifier.authorize(
                authorizer, match.route.authorization_scopes, request.headers, request.query_parameters
            )
        except AuthorizationFailed as failure:
            logger.info("request %s refused by %s: %s", request_id, authorizer.name, failure.reason)
            return gateway_message(
                failure.status, failure.message, [("www-authenticate", failure.www_authenticate)]
            ), None
        except JwksUnavailable as error:
            logger.error("request %s: authorizer %s has no keys: %s", request_id, authorizer.name, error)
            return _internal_error(), None
        return None, authorization.as_event_field()

    def _call_function(self, function: str, event: dict[str, Any], request_id: str) -> HttpResponse:
        try:
            result = self._invoke(function, event)
        except FunctionError as error:
            logger.warning("request %s: %s failed (%s): %s", request_id, function, error.error_type, error)
            return _bad_gateway()
        except InvokeError as error:
            reason = type(error).__name__
            logger.warning("request %s: Lambda refused to run %s (%s): %s", request_id, function, reason, error)
            return _internal_error()
        try:
            return from_function_result(result)
        except MalformedResult as error:
            logger.warning("request %s: %s returned a malformed response: %s", request_id, function, error)
            return _bad_gateway()
