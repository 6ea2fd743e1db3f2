"""Lambda's Invoke API on the edge, answered by the local runtime (the edge routes `lambda` Invoke requests here)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

from localcloud.lambda_service.runtime import EXECUTED_VERSION, InvocationResult, LambdaRuntime, service_error
from localcloud.template.loader import DEFAULT_ACCOUNT_ID

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
