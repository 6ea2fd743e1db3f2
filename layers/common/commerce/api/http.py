"""The one way a function serves HTTP: a Powertools resolver with our error mapping and helpers.

`create_app()` gives each function an `APIGatewayHttpResolver` that
- turns every `CommerceError` into problem+json (and anything unexpected into a 500 problem),
- adds `X-Request-Id` (API Gateway's request id) to every response,
- answers unknown routes with 404 problem+json.
Handlers parse bodies with `parse_body`, which enforces the 64 KiB limit (413), a nesting limit (400, see
commerce.bounded_json) and strict pydantic models.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from pydantic import BaseModel, ValidationError

from commerce import bounded_json
from commerce.api.problems import problem_response
from commerce.domain.errors import CommerceError, ErrorCode, FieldProblem, NotFound, PayloadTooLarge, ValidationFailed

MAX_BODY_BYTES = 64 * 1024

Model = TypeVar("Model", bound=BaseModel)

logger = Logger()


def request_id(app: APIGatewayHttpResolver) -> str:
    return str(app.current_event.request_context.request_id or "")


def _add_request_id(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    response = next_middleware(app)
    response.headers["X-Request-Id"] = request_id(app)
    return response


def create_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver()
    app.use(middlewares=[_add_request_id])

    @app.exception_handler(CommerceError)
    def _domain_error(error: CommerceError) -> Response[str]:
        logger.info("request refused", extra={"code": error.code.value, "detail": error.detail})
        return _with_request_id(app, problem_response(error, request_id(app)))

    @app.exception_handler(ValidationError)
    def _validation_error(error: ValidationError) -> Response[str]:
        return _domain_error(validation_failed(error))

    @app.not_found
    def _not_found(_: Exception) -> Response[str]:
        return _domain_error(NotFound("No route for this method and path"))

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return _with_request_id(
            app,
            problem_response(CommerceError("An unexpected error occurred", code=ErrorCode.INTERNAL), request_id(app)),
        )

    return app


def error_response(app: APIGatewayHttpResolver, error: CommerceError) -> Response[str]:
    """`error` as the problem+json response of the current request (for handlers that answer errors themselves)."""
    return _with_request_id(app, problem_response(error, request_id(app)))


def _with_request_id(app: APIGatewayHttpResolver, response: Response[str]) -> Response[str]:
    # Exception handlers run outside the middleware chain, so they set the header themselves.
    response.headers["X-Request-Id"] = request_id(app)
    return response


def raw_body(app: APIGatewayHttpResolver) -> bytes:
    event = app.current_event
    body = event.get("body") or ""
    try:
        data = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
    except (binascii.Error, ValueError) as error:
        raise ValidationFailed("The request body is not valid base64") from error
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body is {len(data)} bytes; the limit is {MAX_BODY_BYTES}")
    return data


def parse_body(app: APIGatewayHttpResolver, model: type[Model]) -> Model:
    """Parse the JSON body into `model` (strict, unknown fields rejected) or raise 400/413."""
    data = raw_body(app)
    if not data.strip():
        raise ValidationFailed("A JSON request body is required")
    try:
        bounded_json.check_depth(data)
    except bounded_json.TooDeep as error:
        raise ValidationFailed(str(error)) from error
    try:
        return model.model_validate_json(data)
    except ValidationError as error:
        raise validation_failed(error) from error


def validation_failed(error: ValidationError) -> ValidationFailed:
    problems = [
        FieldProblem(field=_field_path(e["loc"]), code=e["type"].upper(), message=e["msg"]) for e in error.errors()
    ]
    detail = (
        "The request body is not valid JSON"
        if any(e["type"] == "json_invalid" for e in error.errors())
        else ("The request has invalid fields")
    )
    return ValidationFailed(detail, errors=problems)


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body), headers=headers)
