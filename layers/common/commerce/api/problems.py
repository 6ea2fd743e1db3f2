"""RFC 9457 problem+json responses, built from domain errors in this one place."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from commerce.domain.errors import CommerceError, ErrorCode, FieldProblem

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://errors.commerce.dev/"


def problem_body(
    code: ErrorCode,
    detail: str,
    errors: list[FieldProblem] | None = None,
    request_id: str | None = None,
    extensions: dict[str, str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.value.lower().replace("_", "-"),
        "title": code.title,
        "status": code.status,
        "detail": detail,
        "code": code.value,
    }
    if errors:
        body["errors"] = [{"field": e.field, "code": e.code, "message": e.message} for e in errors]
    if request_id:
        body["requestId"] = request_id
    return {**(extensions or {}), **body}  # an extension never overrides a standard member


def problem_response(error: CommerceError, request_id: str | None = None) -> Response[str]:
    body = problem_body(error.code, error.detail, error.errors, request_id, error.extensions)
    return Response(
        status_code=error.code.status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=json.dumps(body),
        headers=dict(error.headers),
    )
