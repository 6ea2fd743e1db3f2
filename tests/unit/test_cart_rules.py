"""The cart's rules as pure functions: adding, setting, removing, caps, stock, currency, merge, pricing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commerce.domain.carts.errors import (
    CartLimitReached,
    CurrencyMismatch,
    InsufficientStock,
    LineNotFound,
    SkuNotFound,
)
from commerce.domain.carts.models import Cart, CartLimits, CartLine, CartOwner, CatalogSku
from commerce.domain.carts.pricing import price_cart, prune
from commerce.domain.carts.rules import add_quantity, merge_carts, remove_line, set_quantity
from commerce.domain.errors import CommerceError, ErrorCode
from commerce.domain.money import Money

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
LIMITS = CartLimits(max_line_quantity=10, max_lines=3)
OWNER = CartOwner.guest("s" * 22)


def sku(
    code: str, amount: int = 1500, currency: str = "EUR", available: int = 100, retired: bool = False
) -> CatalogSku:
    return CatalogSku(
        sku=code,
        product_id=f"product-of-{code}",
        product_name="T-Shirt",
        variant_name=code.split("-", 1)[-1],
        price=Money(amount, currency),
        available=available,
        retired=retired,
    )


def catalog(*skus: CatalogSku) -> dict[str, CatalogSku]:
    return {s.sku: s for s in skus}


def cart(*lines: tuple[str, int], version: int = 1) -> Cart:
    return Cart(owner=OWNER, lines=tuple(CartLine(s, q) for s, q in lines), version=version)


def test_adding_creates_a_line_then_adds_to_it() -> None:
    # Given an empty cart and a SKU in stock
    facts = catalog(sku("TS-RED"))
    # When 2 then 3 units are added
    once = add_quantity(cart(version=0), "TS-RED", 2, facts, LIMITS)
    twice = add_quantity(once, "TS-RED", 3, facts, LIMITS)
    # Then one line holds 5
    assert twice.lines == (CartLine("TS-RED", 5),)


def test_unknown_and_retired_skus_are_not_for_sale() -> None:
    # Given a catalog with a retired SKU, Then neither it nor an unknown SKU can be added (404 SKU_NOT_FOUND)
    facts = catalog(sku("TS-OLD", retired=True))
    for code in ("TS-OLD", "TS-NONE"):
        with pytest.raises(SkuNotFound) as refused:
            add_quantity(cart(), code, 1, facts, LIMITS)
        assert refused.value.code is ErrorCode.SKU_NOT_FOUND


def test_a_line_cannot_pass_the_quantity_cap() -> None:
    # Given a line holding 8 of a cap of 10
    facts = catalog(sku("TS-RED"))
    start = cart(("TS-RED", 8))
    # When 3 more are added, or the line is set to 11, Then it is 422 CART_LIMIT
    for change in (
        lambda: add_quantity(start, "TS-RED", 3, facts, LIMITS),
        lambda: set_quantity(start, "TS-RED", 11, facts, LIMITS),
    ):
        with pytest.raises(CartLimitReached) as refused:
            change()
        assert refused.value.code is ErrorCode.CART_LIMIT
    # And exactly the cap is fine
    assert add_quantity(start, "TS-RED", 2, facts, LIMITS).lines == (CartLine("TS-RED", 10),)


def test_a_cart_cannot_pass_the_line_cap_but_full_carts_can_still_grow_lines() -> None:
    # Given a cart at its 3-line cap
    facts = catalog(sku("TS-A"), sku("TS-B"), sku("TS-C"), sku("TS-D"))
    full = cart(("TS-A", 1), ("TS-B", 1), ("TS-C", 1))
    # When a fourth SKU is added, Then it is 422
    with pytest.raises(CartLimitReached):
        add_quantity(full, "TS-D", 1, facts, LIMITS)
    # But adding to an existing line is fine
    assert add_quantity(full, "TS-B", 1, facts, LIMITS).line("TS-B") == CartLine("TS-B", 2)


def test_asking_for_more_than_is_available_is_insufficient_stock() -> None:
    # Given 4 available and 3 in the cart
    facts = catalog(sku("TS-RED", available=4))
    start = cart(("TS-RED", 3))
    # When 2 more are asked for, Then it is 409 INSUFFICIENT_STOCK
    with pytest.raises(InsufficientStock) as refused:
        add_quantity(start, "TS-RED", 2, facts, LIMITS)
    assert refused.value.code is ErrorCode.INSUFFICIENT_STOCK
    # And setting exactly what is available is fine
    assert set_quantity(start, "TS-RED", 4, facts, LIMITS).lines == (CartLine("TS-RED", 4),)


def test_the_cap_is_checked_before_the_stock() -> None:
    # Given 2 available, When 11 are asked for, Then the answer is the cap (422), not the stock
    with pytest.raises(CartLimitReached):
        add_quantity(cart(), "TS-RED", 11, catalog(sku("TS-RED", available=2)), LIMITS)


def test_a_cart_holds_one_currency() -> None:
    # Given a cart priced in EUR
    facts = catalog(sku("TS-EUR"), sku("TS-USD", currency="USD"))
    start = cart(("TS-EUR", 1))
    # When a USD SKU is added, Then it is 409 CONFLICT with a detail naming both currencies
    with pytest.raises(CurrencyMismatch) as refused:
        add_quantity(start, "TS-USD", 1, facts, LIMITS)
    assert refused.value.code is ErrorCode.CONFLICT
    assert "USD" in refused.value.detail
    assert "EUR" in refused.value.detail
    # And once the cart is empty again, any currency goes
    assert add_quantity(cart(), "TS-USD", 1, facts, LIMITS).lines == (CartLine("TS-USD", 1),)


def test_setting_zero_removes_and_is_idempotent() -> None:
    # Given a cart with one line
    facts = catalog(sku("TS-RED"))
    start = cart(("TS-RED", 2))
    # When it is set to 0, Then the line is gone; setting 0 again changes nothing (and needs no SKU facts)
    emptied = set_quantity(start, "TS-RED", 0, facts, LIMITS)
    assert emptied.lines == ()
    assert set_quantity(emptied, "TS-RED", 0, {}, LIMITS) is emptied


def test_removing_a_line_that_is_not_there_is_line_not_found() -> None:
    # Given a cart without TS-BLUE, When it is removed, Then 404 LINE_NOT_FOUND; an existing line goes
    start = cart(("TS-RED", 2))
    with pytest.raises(LineNotFound) as refused:
        remove_line(start, "TS-BLUE", catalog(sku("TS-RED")))
    assert refused.value.code is ErrorCode.LINE_NOT_FOUND
    assert remove_line(start, "TS-RED", catalog(sku("TS-RED"))).lines == ()


def test_a_line_whose_sku_was_retired_can_still_be_removed() -> None:
    # Given a line whose SKU has been retired since it was added, When it is removed, Then that works
    assert remove_line(cart(("TS-OLD", 1)), "TS-OLD", catalog(sku("TS-OLD", retired=True))).lines == ()


def test_prices_come_from_the_catalog_and_unsellable_lines_are_left_out() -> None:
    # Given a cart with a sellable line, a retired one, an unknown one and one re-priced in another currency
    stored = Cart(
        owner=OWNER,
        lines=(
            CartLine("TS-RED", 2),
            CartLine("TS-OLD", 1),
            CartLine("TS-GONE", 1),
            CartLine("TS-USD", 1),
            CartLine("TS-BLUE", 3),
        ),
        version=4,
        updated_at=NOW,
    )
    facts = catalog(
        sku("TS-RED", amount=1500),
        sku("TS-OLD", retired=True),
        sku("TS-USD", currency="USD"),
        sku("TS-BLUE", amount=999),
    )
    # When it is priced
    priced = price_cart(stored, facts, NOW).to_json()
    # Then only the EUR lines show, at catalog prices, with totals in integer minor units
    assert priced == {
        "cartId": OWNER.cart_id,
        "lines": [
            {
                "sku": "TS-RED",
                "productId": "product-of-TS-RED",
                "name": "T-Shirt (RED)",
                "quantity": 2,
                "unitPrice": {"amount": 1500, "currency": "EUR"},
                "lineTotal": {"amount": 3000, "currency": "EUR"},
            },
            {
                "sku": "TS-BLUE",
                "productId": "product-of-TS-BLUE",
                "name": "T-Shirt (BLUE)",
                "quantity": 3,
                "unitPrice": {"amount": 999, "currency": "EUR"},
                "lineTotal": {"amount": 2997, "currency": "EUR"},
            },
        ],
        "subtotal": {"amount": 5997, "currency": "EUR"},
        "itemCount": 5,
        "updatedAt": "2026-11-22T10:00:00.000Z",
    }
    # And pruning drops exactly the lines that did not show
    assert prune(stored, facts).skus == ("TS-RED", "TS-BLUE")


def test_an_empty_cart_keeps_the_money_shape() -> None:
    # Given no lines, Then the subtotal is 0 in ISO 4217's "no currency" code
    priced = price_cart(Cart.empty(OWNER), {}, NOW).to_json()
    assert priced["subtotal"] == {"amount": 0, "currency": "XXX"}
    assert priced["itemCount"] == 0
    assert priced["lines"] == []
    # And the id is derived from the owner: stable before anything is stored, distinct per owner
    assert priced["cartId"] == OWNER.cart_id == CartOwner.guest("s" * 22).cart_id
    assert OWNER.cart_id != CartOwner.customer("s" * 22).cart_id


def test_merging_adds_quantities_within_the_caps() -> None:
    # Given a customer cart (A:9, B:1) and a guest cart (A:5, C:2, D:1, E:1) with caps 10 units and 3 lines
    customer = Cart(owner=CartOwner.customer("sub-1"), lines=(CartLine("A", 9), CartLine("B", 1)), version=3)
    guest = cart(("A", 5), ("C", 2), ("D", 1), ("E", 1))
    # When merged
    merged = merge_carts(customer, guest, LIMITS)
    # Then A is capped at 10, C joins as the third line, D and E do not fit; the owner stays the customer
    assert merged.lines == (CartLine("A", 10), CartLine("B", 1), CartLine("C", 2))
    assert merged.owner == customer.owner
    assert merged.version == 3


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["add", "set", "remove"]), st.sampled_from(["A", "B", "C", "D", "E"]), st.integers(0, 12)
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(OPERATIONS)
def test_no_sequence_of_requests_breaks_the_caps_or_the_stock(operations: list[tuple[str, str, int]]) -> None:
    # Given SKUs with little stock, and any sequence of add / set / remove requests
    facts = catalog(*(sku(code, available=avail) for code, avail in zip("ABCDE", [3, 10, 20, 0, 7], strict=True)))
    current = cart(version=0)
    for operation, code, quantity in operations:
        # When each request is applied (refused ones leave the cart as it was)
        try:
            if operation == "add" and quantity >= 1:
                current = add_quantity(current, code, quantity, facts, LIMITS)
            elif operation == "set":
                current = set_quantity(current, code, quantity, facts, LIMITS)
            elif operation == "remove":
                current = remove_line(current, code, facts)
        except CommerceError:
            pass
        # Then the cart never holds more lines, units per line or units than the caps and stock allow
        assert len(current.lines) <= LIMITS.max_lines
        assert len(set(current.skus)) == len(current.lines)
        for line in current.lines:
            assert 1 <= line.quantity <= min(LIMITS.max_line_quantity, facts[line.sku].available)
