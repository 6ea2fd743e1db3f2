"""Pricing a stored cart from the catalog: which lines show, in which currency, at which prices.

A line shows when its SKU is in the catalog, not retired, and priced in the cart's currency, which is the
currency of the first such line. Lines that do not show (the SKU was retired or re-priced in another
currency since it was added) are left out of the priced cart and dropped by the next write to the cart.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from commerce.domain.carts.models import Cart, CatalogSku, PricedCart, PricedLine

Catalog = Mapping[str, CatalogSku]


def sellable(catalog: Catalog, sku: str) -> CatalogSku | None:
    info = catalog.get(sku)
    return info if info is not None and not info.retired else None


def cart_currency(cart: Cart, catalog: Catalog) -> str | None:
    for line in cart.lines:
        info = sellable(catalog, line.sku)
        if info is not None:
            return info.price.currency
    return None


def prune(cart: Cart, catalog: Catalog) -> Cart:
    """The cart without the lines that would not show."""
    currency = cart_currency(cart, catalog)
    kept = tuple(line for line in cart.lines if _shows(catalog, line.sku, currency))
    return cart if kept == cart.lines else cart.with_lines(kept)


def price_cart(cart: Cart, catalog: Catalog, now: datetime) -> PricedCart:
    currency = cart_currency(cart, catalog)
    lines = []
    for line in cart.lines:
        info = sellable(catalog, line.sku)
        if info is not None and info.price.currency == currency:
            lines.append(
                PricedLine(
                    sku=line.sku,
                    product_id=info.product_id,
                    name=info.display_name,
                    quantity=line.quantity,
                    unit_price=info.price,
                )
            )
    return PricedCart(
        cart_id=cart.owner.cart_id,
        currency=currency,
        lines=tuple(lines),
        updated_at=cart.updated_at or now,
    )


def _shows(catalog: Catalog, sku: str, currency: str | None) -> bool:
    info = sellable(catalog, sku)
    return info is not None and info.price.currency == currency
