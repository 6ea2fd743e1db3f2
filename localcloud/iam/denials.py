"""A denied call's answer, as each service gives it: its error code, HTTP status and protocol.

- JSON protocol services (DynamoDB, Step Functions, EventBridge, Secrets Manager, Cognito...):
  400 `AccessDeniedException`, as `__type` in the body.
- SQS (JSON protocol, with the query protocol's codes): 403 `AccessDenied` (`x-amzn-query-error`).
- REST-JSON services (Lambda, the RDS Data API, Scheduler): 403 `AccessDeniedException` (`x-amzn-ErrorType`).
- S3: 403 `AccessDenied`, XML. Query protocol services (SNS: `AuthorizationError`; CloudWatch...): 403, XML.

The message is AWS's: "User: <assumed-role ARN> is not authorized to perform: <action> on resource:
<ARN> because no identity-based policy allows the <action> action" (or "... with an explicit deny").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from xml.sax.saxutils import escape

from localcloud.iam.evaluation import IamRequest

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_REST_JSON = {"lambda", "rds-data", "scheduler"}
_QUERY_CODES = {"sns": "AuthorizationError"}


def denial_message(principal_arn: str, request: IamRequest, *, explicit: bool) -> str:
    resource = "" if request.resource == "*" else f" on resource: {request.resource}"
    why = (
        "with an explicit deny in an identity-based policy"
        if explicit
        else f"because no identity-based policy allows the {request.action} action"
    )
    return f"User: {principal_arn} is not authorized to perform: {request.action}{resource} {why}"


def access_denied(service: str, environ: dict[str, Any], message: str) -> WsgiApp:
    """The WSGI app answering this service's AccessDenied with `message`."""
    if service == "sqs" and environ.get("HTTP_X_AMZ_TARGET"):
        return _answer(
            "403 Forbidden",
            "application/x-amz-json-1.0",
            json.dumps({"__type": "com.amazonaws.sqs#AccessDenied", "message": message}).encode(),
            [("x-amzn-query-error", "AccessDenied;Sender")],
        )
    if service in _REST_JSON:
        return _answer(
            "403 Forbidden",
            "application/json",
            json.dumps({"message": message}).encode(),
            [("x-amzn-ErrorType", "AccessDeniedException")],
        )
    if service == "s3":
        body = f"<Error><Code>AccessDenied</Code><Message>{escape(message)}</Message></Error>"
        return _answer("403 Forbidden", "application/xml", body.encode())
    if environ.get("HTTP_X_AMZ_TARGET"):  # a JSON protocol service
        content_type = str(environ.get("CONTENT_TYPE") or "application/x-amz-json-1.0")
        return _answer(
            "400 Bad Request",
            content_type,
            json.dumps({"__type": "AccessDeniedException", "message": message}).encode(),
        )
    code = _QUERY_CODES.get(service, "AccessDenied")
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )
    return _answer("403 Forbidden", "text/xml", body.encode())


def _answer(status: str, content_type: str, body: bytes, headers: list[tuple[str, str]] | None = None) -> WsgiApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))), *(headers or [])])
        return [body]

    return app
