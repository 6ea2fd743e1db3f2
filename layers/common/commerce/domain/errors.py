"""Domain errors: one base class carrying a stable `code`; the HTTP status lives with the code.

Every error the API can answer is listed in `ErrorCode`. `commerce.api.problems` turns any
`CommerceError` into an RFC 9457 problem+json response; nothing else maps errors to statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ErrorCode(Enum):
    """Stable error identifiers of the HTTP contract (shared/API.md). Value = (code, status, title)."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    SKU_NOT_FOUND = "SKU_NOT_FOUND"
    LINE_NOT_FOUND = "LINE_NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    SKU_EXISTS = "SKU_EXISTS"
    BELOW_RESERVED = "BELOW_RESERVED"
    PURCHASE_LIMIT = "PURCHASE_LIMIT"
    CONFLICT = "CONFLICT"
    CART_EMPTY = "CART_EMPTY"
    CHECKOUT_IN_PROGRESS = "CHECKOUT_IN_PROGRESS"
    CART_LIMIT = "CART_LIMIT"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    OVER_FULFILLED = "OVER_FULFILLED"
    IDEMPOTENCY_KEY_REQUIRED = "IDEMPOTENCY_KEY_REQUIRED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    REQUEST_IN_PROGRESS = "REQUEST_IN_PROGRESS"
    BAD_SIGNATURE = "BAD_SIGNATURE"
    BUSY = "BUSY"
    DATABASE_RESUMING = "DATABASE_RESUMING"
    PAYMENT_PROVIDER_UNAVAILABLE = "PAYMENT_PROVIDER_UNAVAILABLE"
    REFUND_REJECTED = "REFUND_REJECTED"
    INTERNAL = "INTERNAL"

    @property
    def status(self) -> int:
        return _STATUS[self]

    @property
    def title(self) -> str:
        return _TITLE[self]


_STATUS: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION_ERROR: 400,
    ErrorCode.IDEMPOTENCY_KEY_REQUIRED: 400,
    ErrorCode.BAD_SIGNATURE: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.SKU_NOT_FOUND: 404,
    ErrorCode.LINE_NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.INSUFFICIENT_STOCK: 409,
    ErrorCode.OUT_OF_STOCK: 409,
    ErrorCode.SKU_EXISTS: 409,
    ErrorCode.BELOW_RESERVED: 409,
    ErrorCode.PURCHASE_LIMIT: 409,
    ErrorCode.CONFLICT: 409,
    ErrorCode.CART_EMPTY: 409,
    ErrorCode.CHECKOUT_IN_PROGRESS: 409,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.OVER_FULFILLED: 409,
    ErrorCode.REQUEST_IN_PROGRESS: 409,
    ErrorCode.REFUND_REJECTED: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.CART_LIMIT: 422,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 422,
    ErrorCode.BUSY: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.DATABASE_RESUMING: 503,
    ErrorCode.PAYMENT_PROVIDER_UNAVAILABLE: 503,
}

_TITLE: dict[ErrorCode, str] = {
    ErrorCode.VALIDATION_ERROR: "The request is not valid",
    ErrorCode.PAYLOAD_TOO_LARGE: "The request body is too large",
    ErrorCode.UNAUTHENTICATED: "Authentication required",
    ErrorCode.FORBIDDEN: "Not allowed",
    ErrorCode.NOT_FOUND: "Not found",
    ErrorCode.SKU_NOT_FOUND: "No such SKU",
    ErrorCode.LINE_NOT_FOUND: "No such cart line",
    ErrorCode.METHOD_NOT_ALLOWED: "Method not allowed",
    ErrorCode.INSUFFICIENT_STOCK: "Not enough stock",
    ErrorCode.OUT_OF_STOCK: "Out of stock",
    ErrorCode.SKU_EXISTS: "SKU already exists",
    ErrorCode.BELOW_RESERVED: "On-hand stock cannot go below reserved stock",
    ErrorCode.PURCHASE_LIMIT: "Over the purchase limit",
    ErrorCode.CONFLICT: "Conflicting concurrent change",
    ErrorCode.CART_EMPTY: "The cart is empty",
    ErrorCode.CHECKOUT_IN_PROGRESS: "The cart has an open checkout",
    ErrorCode.CART_LIMIT: "Cart limit reached",
    ErrorCode.INVALID_TRANSITION: "Invalid status transition",
    ErrorCode.OVER_FULFILLED: "More units than the order has left to ship",
    ErrorCode.IDEMPOTENCY_KEY_REQUIRED: "Idempotency-Key header required",
    ErrorCode.IDEMPOTENCY_KEY_REUSED: "Idempotency-Key reused with a different request",
    ErrorCode.REQUEST_IN_PROGRESS: "A request with this Idempotency-Key is in progress",
    ErrorCode.BAD_SIGNATURE: "Invalid webhook signature",
    ErrorCode.BUSY: "Too busy, retry later",
    ErrorCode.DATABASE_RESUMING: "The database is resuming, retry later",
    ErrorCode.PAYMENT_PROVIDER_UNAVAILABLE: "The payment provider is unavailable, retry later",
    ErrorCode.REFUND_REJECTED: "The payment provider refused the refund",
    ErrorCode.INTERNAL: "Internal error",
}


@dataclass(frozen=True)
class FieldProblem:
    """One field or line problem, rendered in a problem's `errors` list."""

    field: str
    code: str
    message: str


class CommerceError(Exception):
    """Base of every domain error. Raise a subclass or this with the right `ErrorCode`."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(
        self,
        detail: str,
        *,
        code: ErrorCode | None = None,
        errors: list[FieldProblem] | None = None,
        headers: dict[str, str] | None = None,
        extensions: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        if code is not None:
            self.code = code
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}
        self.extensions = extensions or {}  # extra members of the problem (RFC 9457 extensions), e.g. checkoutId


class ValidationFailed(CommerceError):
    code = ErrorCode.VALIDATION_ERROR


class PayloadTooLarge(CommerceError):
    code = ErrorCode.PAYLOAD_TOO_LARGE


class Unauthenticated(CommerceError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(CommerceError):
    code = ErrorCode.FORBIDDEN


class NotFound(CommerceError):
    code = ErrorCode.NOT_FOUND


class Conflict(CommerceError):
    code = ErrorCode.CONFLICT
