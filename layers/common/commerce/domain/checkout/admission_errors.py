"""Moved to `commerce.domain.checkout.errors`. Kept only because `checkout/schemas.py` (owned by another branch
this session) still imports from here; when that import points at `errors`, delete this module."""

from __future__ import annotations

from commerce.domain.checkout.errors import IDEMPOTENCY_KEY_HEADER, IdempotencyKeyRequired

__all__ = ["IDEMPOTENCY_KEY_HEADER", "IdempotencyKeyRequired"]
