"""The rules of changing a cart, as pure functions from a cart and catalog facts to a new cart.

Each function either returns the changed cart or raises the domain error the API answers with; none of
them reads or writes anything. Checks run in the order the API documents them: an unknown or retired
SKU (404), a second currency (409), the caps (422), then the stock (409).
"""

from __future__ import annotations

from commerce.domain.carts.errors import (
    CartLimitReached,
    CurrencyMismatch,
    InsufficientStock,
    LineNotFound,
    SkuNotFound,
)
from commerce.domain.carts.models import Cart, CartLimits, CartLine
from commerce.domain.carts.pricing import Catalog, cart_currency, prune, sellable


def add_quantity(cart: Cart, sku: str, quantity: int, catalog: Catalog, limits: CartLimits) -> Cart:
    """Add `quantity` units of `sku`, to its existing line if there is one."""
    existing = cart.line(sku)
    current = existing.quantity if existing is not None else 0
    return _place(cart, sku, current + quantity, catalog, limits)


def set_quantity(cart: Cart, sku: str, quantity: int, catalog: Catalog, limits: CartLimits) -> Cart:
    """Make the line for `sku` hold exactly `quantity` units; 0 removes it (and is a no-op without a line)."""
    if quantity == 0:
        if cart.line(sku) is None:
            return cart
        return prune(_without(cart, sku), catalog)
    return _place(cart, sku, quantity, catalog, limits)


def remove_line(cart: Cart, sku: str, catalog: Catalog) -> Cart:
    if cart.line(sku) is None:
        raise LineNotFound(sku)
    return prune(_without(cart, sku), catalog)


def merge_carts(into: Cart, guest: Cart, limits: CartLimits) -> Cart:
    """The customer's cart with a guest cart's lines added in: quantities add, capped per line.

    The customer's lines keep their place and the guest's new lines follow, as many as the line cap
    allows. Merging happens when a customer signs in, so it never fails: stock and currency are not
    checked here (pricing leaves out lines in another currency, and checkout reserves stock).
    """
    lines = {line.sku: line.quantity for line in into.lines}
    for line in guest.lines:
        if line.sku in lines:
            lines[line.sku] = min(lines[line.sku] + line.quantity, limits.max_line_quantity)
        elif len(lines) < limits.max_lines:
            lines[line.sku] = min(line.quantity, limits.max_line_quantity)
    return into.with_lines(tuple(CartLine(sku, quantity) for sku, quantity in lines.items()))


def _place(cart: Cart, sku: str, quantity: int, catalog: Catalog, limits: CartLimits) -> Cart:
    info = sellable(catalog, sku)
    if info is None:
        raise SkuNotFound(sku)
    currency = cart_currency(cart, catalog)
    if currency is not None and info.price.currency != currency:
        raise CurrencyMismatch(sku, info.price.currency, currency)
    kept = prune(cart, catalog)
    if kept.line(sku) is None and len(kept.lines) >= limits.max_lines:
        raise CartLimitReached(f"A cart holds at most {limits.max_lines} lines")
    if quantity > limits.max_line_quantity:
        raise CartLimitReached(f"A cart line holds at most {limits.max_line_quantity} units; it would hold {quantity}")
    if quantity > info.available:
        raise InsufficientStock(sku, quantity, info.available)
    return _with_quantity(kept, sku, quantity)


def _with_quantity(cart: Cart, sku: str, quantity: int) -> Cart:
    if cart.line(sku) is None:
        return cart.with_lines((*cart.lines, CartLine(sku, quantity)))
    return cart.with_lines(tuple(CartLine(sku, quantity) if line.sku == sku else line for line in cart.lines))


def _without(cart: Cart, sku: str) -> Cart:
    return cart.with_lines(tuple(line for line in cart.lines if line.sku != sku))
