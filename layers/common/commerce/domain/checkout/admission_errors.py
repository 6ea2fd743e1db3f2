"""Why `POST /checkouts` refuses a request, each with its stable code (shared/API.md "Checkout semantics").

Out of stock is the inventory's `OutOfStock` (409, one `errors` entry per short line); the rest are here.
"""

from __future__ import annotations

from commerce.domain.errors import CommerceError, Conflict, ErrorCode, FieldProblem

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


class IdempotencyKeyRequired(CommerceError):
    code = ErrorCode.IDEMPOTENCY_KEY_REQUIRED

    def __init__(self) -> None:
        super().__init__(
            f"Send an {IDEMPOTENCY_KEY_HEADER} header (a value unique to this checkout, such as a UUID) "
            "so that retrying the request cannot check the cart out twice"
        )


class IdempotencyKeyReused(CommerceError):
    code = ErrorCode.IDEMPOTENCY_KEY_REUSED

    def __init__(self) -> None:
        super().__init__(
            f"This {IDEMPOTENCY_KEY_HEADER} was used for a checkout with a different body; "
            "use a new key for a new checkout"
        )


class RequestInProgress(CommerceError):
    code = ErrorCode.REQUEST_IN_PROGRESS

    def __init__(self) -> None:
        super().__init__(f"A request with this {IDEMPOTENCY_KEY_HEADER} is still being processed; retry shortly")


class CartEmpty(CommerceError):
    code = ErrorCode.CART_EMPTY

    def __init__(self) -> None:
        super().__init__("The cart has no lines that can be bought; add something first")


class Busy(CommerceError):
    """Too many checkouts wait for admission: refuse before reserving anything, and say when to come back."""

    code = ErrorCode.BUSY

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            f"Too many checkouts are waiting to be processed; retry in {retry_after_seconds} seconds",
            headers={"Retry-After": str(retry_after_seconds)},
        )
        self.retry_after_seconds = retry_after_seconds


class AttemptAbandoned(Conflict):
    """An earlier attempt with this key reserved stock and then failed before recording the checkout; its
    reservation was given back, and a reservation id is never reused, so this key cannot check out again."""

    def __init__(self) -> None:
        super().__init__(
            f"An earlier attempt with this {IDEMPOTENCY_KEY_HEADER} failed part-way and was undone; "
            "retry with a new key",
            errors=[FieldProblem(field=IDEMPOTENCY_KEY_HEADER, code="ABANDONED", message="use a new key")],
        )
