"""Stripe's error responses: `{"error": {"type", "code", "message", "param", "decline_code", ...}}` with its statuses.

Every failure the sandbox answers is one `ApiError`; the WSGI layer renders it. The constructors below
name the families Stripe uses so call sites read like the Stripe documentation (`resource_missing`,
`parameter_unknown`, `payment_intent_unexpected_state`, ...).
"""

from __future__ import annotations

from typing import Any

DOCS = "https://stripe.com/docs/error-codes"


class ApiError(Exception):
    """An error answer in Stripe's shape. `extra` carries objects Stripe attaches (payment_intent, charge)."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"{DOCS}/{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        if self.decline_code is not None:
            error["decline_code"] = self.decline_code
        error.update(self.extra)
        return {"error": error}


def invalid_request(message: str, *, param: str | None = None, code: str | None = None, status: int = 400) -> ApiError:
    return ApiError(status, "invalid_request_error", message, code=code, param=param)


def parameter_missing(param: str) -> ApiError:
    return invalid_request(f"Missing required param: {param}.", param=param, code="parameter_missing")


def parameter_unknown(param: str) -> ApiError:
    return invalid_request(
        f"Received unknown parameter: {param}. (The local payments sandbox implements a subset of Stripe's API.)",
        param=param,
        code="parameter_unknown",
    )


def resource_missing(kind: str, object_id: str, *, param: str, status: int = 404) -> ApiError:
    """404 for an id in the URL; Stripe answers 400 when the missing id came as a parameter."""
    return invalid_request(f"No such {kind}: '{object_id}'", param=param, code="resource_missing", status=status)


def unexpected_state(message: str, *, code: str = "payment_intent_unexpected_state") -> ApiError:
    return invalid_request(message, code=code)


def idempotency_mismatch(key: str) -> ApiError:
    return ApiError(
        400,
        "idempotency_error",
        "Keys for idempotent requests can only be used with the same parameters they were first used with. "
        f"Try using a key other than '{key}' if you meant to execute a different request.",
    )


def idempotency_key_in_use(key: str) -> ApiError:
    return invalid_request(
        "There is currently another in-progress request using this Idempotent Key (that probably means you "
        f"submitted twice, and the other request is still going through): {key}. Please try again later.",
        code="idempotency_key_in_use",
        status=409,
    )


def authentication(message: str) -> ApiError:
    return invalid_request(message, status=401)


def api_error(status: int, message: str) -> ApiError:
    return ApiError(status, "api_error", message)
