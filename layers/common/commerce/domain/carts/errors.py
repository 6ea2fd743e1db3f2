"""Errors of cart operations, each with its stable code (shared/API.md)."""

from __future__ import annotations

from commerce.domain.errors import CommerceError, Conflict, ErrorCode, FieldProblem


class SkuNotFound(CommerceError):
    code = ErrorCode.SKU_NOT_FOUND

    def __init__(self, sku: str) -> None:
        super().__init__(f"No SKU {sku} is for sale")


class LineNotFound(CommerceError):
    code = ErrorCode.LINE_NOT_FOUND

    def __init__(self, sku: str) -> None:
        super().__init__(f"The cart has no line for SKU {sku}")


class InsufficientStock(CommerceError):
    code = ErrorCode.INSUFFICIENT_STOCK

    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(
            f"The line would hold {requested} of SKU {sku}, but only {available} are available",
            errors=[FieldProblem(field="quantity", code="INSUFFICIENT_STOCK", message=f"{available} available")],
        )


class CartLimitReached(CommerceError):
    code = ErrorCode.CART_LIMIT

    def __init__(self, detail: str) -> None:
        super().__init__(detail, errors=[FieldProblem(field="quantity", code="CART_LIMIT", message=detail)])


class CurrencyMismatch(Conflict):
    def __init__(self, sku: str, sku_currency: str, cart_currency: str) -> None:
        super().__init__(
            f"SKU {sku} is priced in {sku_currency} but this cart is in {cart_currency}; "
            "a cart holds one currency, so check out or empty it first"
        )


class CartVersionConflict(Exception):
    """Raised by a cart store when the stored cart is no longer the version the write was based on.

    Not an API error: the cart service re-reads and re-applies the change, and answers 409 CONFLICT only
    when it keeps losing.
    """


class CartChangedConcurrently(Conflict):
    def __init__(self, attempts: int) -> None:
        super().__init__(f"The cart changed concurrently {attempts} times in a row; retry the request")
