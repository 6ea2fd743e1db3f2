"""The edge endpoint: one port for every AWS API the handlers call (`AWS_ENDPOINT_URL`).

Requests are routed by the service in their SigV4 credential scope. Services the local cloud runs
itself (Lambda Invoke: `LambdaInvokeApi`, the RDS Data API) are registered as interceptors;
everything else goes to moto's server app. DynamoDB requests are serialised: moto checks a
condition and applies the write in two steps without a lock, and the local cloud must keep
conditional writes atomic under concurrency exactly as DynamoDB does.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from localcloud.dynamodb.partition_limit import PartitionLimit
from localcloud.lambda_runtime import EXECUTED_VERSION, InvocationResult, LambdaRuntime, service_error
from localcloud.template.loader import DEFAULT_ACCOUNT_ID
from localcloud.usage import Usage

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Predicate = Callable[[str, dict[str, Any]], bool]


def signing_service(environ: dict[str, Any]) -> str:
    """The service name in a SigV4 Authorization header ("dynamodb", "lambda", "rds-data", ...), or ""."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        return scope.split("/")[3].lower()
    except IndexError:
        return ""


class EdgeApp:
    """WSGI app: interceptors first (in registration order), then moto."""

    def __init__(self, usage: Usage | None = None) -> None:
        self._moto = DomainDispatcherApplication(create_backend_app)
        self._interceptors: list[tuple[Predicate, WsgiApp]] = []
        self._dynamodb_lock = threading.Lock()
        self._usage = usage
        self.partition_limit = PartitionLimit.installed_on(self)

    def intercept(self, predicate: Predicate, app: WsgiApp) -> None:
        """Route requests for which `predicate(service, environ)` holds to `app` instead of moto."""
        self._interceptors.append((predicate, app))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        service = signing_service(environ)
        if self._usage is not None and service:
            self._usage.record_call(service, environ)
        for predicate, app in self._interceptors:
            if predicate(service, environ):
                return app(environ, start_response)
        if service == "dynamodb":
            with self._dynamodb_lock:
                # Materialise the body inside the lock: the write happens while the response is built.
                return list(self._moto(environ, start_response))
        return self._moto(environ, start_response)


# ---------------------------------------------------------------------- Lambda Invoke
_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")


class LambdaInvokeApi:
    """Lambda's `Invoke` (POST /2015-03-31/functions/{name}/invocations), answered by the local runtime.

    RequestResponse returns the function's payload with `X-Amz-Executed-Version`, and for a failed
    function `X-Amz-Function-Error: Unhandled` with Lambda's error document; Event queues the event
    and answers 202; DryRun checks the function and answers 204. Service errors (unknown function,
    throttling, oversized payload) carry their code in `x-amzn-ErrorType`, where botocore reads it.
    """

    def __init__(self, runtime: LambdaRuntime) -> None:
        self._runtime = runtime

    @staticmethod
    def matches(service: str, environ: dict[str, Any]) -> bool:
        return (
            service == "lambda"
            and environ.get("REQUEST_METHOD") == "POST"
            and _INVOKE_PATH.match(environ.get("PATH_INFO", "")) is not None
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        match = _INVOKE_PATH.match(environ.get("PATH_INFO", ""))
        assert match is not None  # routed here by `matches`
        name = unquote(match.group("name"))
        qualifier = parse_qs(environ.get("QUERY_STRING", "")).get("Qualifier", [None])[0]
        fn = self._runtime.find(name)
        if fn is None or qualifier not in (None, EXECUTED_VERSION):
            arn = fn.arn if fn else name if name.startswith("arn:") else self._arn_of(name)
            message = f"Function not found: {arn}{f':{qualifier}' if qualifier else ''}"
            return _respond(start_response, service_error(404, "ResourceNotFoundException", message))
        payload = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        result = self._runtime.invoke_api(
            fn.logical_id,
            payload,
            environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse"),
            client_context=_client_context(environ),
            trace_id=environ.get("HTTP_X_AMZN_TRACE_ID"),
        )
        return _respond(start_response, result)

    def _arn_of(self, name: str) -> str:
        return f"arn:aws:lambda:{self._runtime.region}:{DEFAULT_ACCOUNT_ID}:function:{name}"


def _respond(start_response: Callable[..., Any], result: InvocationResult) -> list[bytes]:
    headers = [("Content-Length", str(len(result.payload)))]
    if result.request_id:
        headers.append(("X-Amzn-RequestId", result.request_id))
    if result.payload:
        headers.append(("Content-Type", "application/json"))
    if result.error_code:
        headers.append(("x-amzn-ErrorType", result.error_code))
    elif result.status_code == 200:
        headers.append(("X-Amz-Executed-Version", result.executed_version))
    if result.function_error:
        headers.append(("X-Amz-Function-Error", result.function_error))
    start_response(f"{result.status_code} {HTTPStatus(result.status_code).phrase}", headers)
    return [result.payload] if result.payload else []


def _client_context(environ: dict[str, Any]) -> dict[str, Any] | None:
    """X-Amz-Client-Context is base64-encoded JSON; one that does not decode is passed on as absent."""
    raw = environ.get("HTTP_X_AMZ_CLIENT_CONTEXT")
    if not raw:
        return None
    try:
        decoded = json.loads(base64.b64decode(raw))
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None
