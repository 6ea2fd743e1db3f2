"""Checkout errors with their stable codes (the HTTP mapping lives with `ErrorCode`)."""

from __future__ import annotations

from commerce.domain.errors import CommerceError, ErrorCode


class CheckoutNotFound(CommerceError):
    code = ErrorCode.NOT_FOUND


class CheckoutChanged(CommerceError):
    """Another writer moved the checkout first (optimistic version check lost)."""

    code = ErrorCode.CONFLICT
