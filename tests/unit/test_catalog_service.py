"""Catalog operations against the in-memory repository: create, replace (retiring SKUs), read, list."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from commerce.domain.catalog.errors import ProductChanged, ProductNotFound, SkuExists
from commerce.domain.catalog.models import (
    MAX_VARIANTS,
    CatalogPosition,
    ProductCriteria,
    ProductRecord,
    ProductSpec,
    VariantSpec,
)
from commerce.domain.catalog.service import (
    check_spec,
    create_product,
    get_product,
    list_products,
    replace_product,
)
from commerce.domain.catalog.views import admin_product, public_product
from commerce.domain.errors import ErrorCode, ValidationFailed
from commerce.domain.money import Money
from tests.support.fakes.catalog import InMemoryCatalog

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
_ids = itertools.count(1)


def next_id() -> str:
    return f"{next(_ids):032x}"


def spec(
    name: str = "Trail Runner",
    skus: tuple[str, ...] = ("TR-42", "TR-43"),
    *,
    category: str = "shoes",
    currency: str = "EUR",
    amount: int = 12900,
) -> ProductSpec:
    return ProductSpec(
        name=name,
        description="A shoe.",
        category=category,
        variants=tuple(VariantSpec(sku=s, name=f"Size {s}", price=Money(amount, currency)) for s in skus),
    )


def fields(error: ValidationFailed) -> set[str]:
    return {p.field for p in error.errors}


@pytest.fixture
def catalog() -> InMemoryCatalog:
    return InMemoryCatalog()


def test_create_assigns_an_id_and_starts_every_sku_at_zero(catalog: InMemoryCatalog) -> None:
    # Given an empty catalog
    # When an operator creates a product with two variants
    product = create_product(catalog, spec(), now=NOW, new_id=next_id)
    # Then it gets an id, its SKUs exist with nothing on hand, and reading it back gives the same product
    assert len(product.product_id) == 32
    assert [v.sku for v in product.variants] == ["TR-42", "TR-43"]
    assert all(v.stock.on_hand == 0 and v.stock.available == 0 for v in product.variants)
    assert get_product(catalog, product.product_id) == product
    assert catalog.ledger.skus["TR-42"].product_id == product.product_id


def test_create_with_a_taken_sku_writes_nothing(catalog: InMemoryCatalog) -> None:
    # Given a product owning TR-43
    create_product(catalog, spec(), now=NOW, new_id=next_id)
    records, skus = dict(catalog.records), set(catalog.ledger.skus)
    # When another product is created with TR-99 and TR-43
    with pytest.raises(SkuExists) as raised:
        create_product(catalog, spec("Other", ("TR-99", "TR-43")), now=NOW, new_id=next_id)
    # Then SKU_EXISTS names variants[1].sku and neither the product nor TR-99 was written
    assert raised.value.code is ErrorCode.SKU_EXISTS
    assert [p.field for p in raised.value.errors] == ["variants[1].sku"]
    assert catalog.records == records
    assert set(catalog.ledger.skus) == skus


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (spec(skus=("TR-1", "TR-1")), "variants[1].sku"),
        (spec(skus=()), "variants"),
        (spec(skus=tuple(f"S-{i}" for i in range(MAX_VARIANTS + 1))), "variants"),
        (spec(name="   "), "name"),
        (spec(skus=("bad sku",)), "variants[0].sku"),
        (spec(amount=-1), "variants[0].price.amount"),
        (
            ProductSpec(
                name="Mixed",
                description="",
                category="shoes",
                variants=(
                    VariantSpec("M-1", "One", Money(100, "EUR")),
                    VariantSpec("M-2", "Two", Money(100, "USD")),
                ),
            ),
            "variants[1].price.currency",
        ),
    ],
)
def test_invalid_specs_are_refused_before_anything_is_written(
    catalog: InMemoryCatalog, bad: ProductSpec, field: str
) -> None:
    # Given a spec breaking one rule
    # When it is created
    with pytest.raises(ValidationFailed) as raised:
        create_product(catalog, bad, now=NOW, new_id=next_id)
    # Then the problem names the field and nothing exists
    assert field in fields(raised.value)
    assert catalog.records == {}
    assert catalog.ledger.skus == {}


def test_a_valid_spec_passes_the_checks() -> None:
    # Given / When / Then: a well-formed spec raises nothing
    check_spec(spec())


def test_replace_keeps_stock_retires_dropped_skus_and_starts_new_ones_at_zero(catalog: InMemoryCatalog) -> None:
    # Given a product whose TR-42 has 5 on hand
    product = create_product(catalog, spec(), now=NOW, new_id=next_id)
    catalog.ledger.set_on_hand("TR-42", 5)
    # When it is replaced by TR-42 (renamed, repriced) and a new TR-44, dropping TR-43
    later = NOW + timedelta(minutes=5)
    replaced = replace_product(
        catalog, product.product_id, spec("Trail Runner II", ("TR-42", "TR-44"), amount=9900), now=later
    )
    # Then TR-42 keeps its stock with the new price, TR-44 starts at 0, TR-43 is retired and not sellable
    by_sku = {v.sku: v for v in replaced.variants}
    assert by_sku["TR-42"].stock.on_hand == 5
    assert by_sku["TR-42"].price == Money(9900, "EUR")
    assert by_sku["TR-44"].stock.on_hand == 0
    assert by_sku["TR-43"].retired
    assert replaced.sellable_skus == ("TR-42", "TR-44")
    assert replaced.retired_skus == ("TR-43",)
    assert replaced.updated_at == later
    assert replaced.created_at == NOW
    assert replaced.version == product.version + 1
    assert catalog.ledger.skus["TR-43"].retired
    assert catalog.ledger.skus["TR-42"].product_name == "Trail Runner II"


def test_replace_can_bring_a_retired_sku_back(catalog: InMemoryCatalog) -> None:
    # Given a product that retired TR-43
    product = create_product(catalog, spec(), now=NOW, new_id=next_id)
    replace_product(catalog, product.product_id, spec(skus=("TR-42",)), now=NOW)
    # When TR-43 is listed again
    again = replace_product(catalog, product.product_id, spec(skus=("TR-42", "TR-43")), now=NOW)
    # Then it is sellable again and no longer retired
    assert again.sellable_skus == ("TR-42", "TR-43")
    assert again.retired_skus == ()
    assert not catalog.ledger.skus["TR-43"].retired


def test_replace_with_another_products_sku_changes_nothing(catalog: InMemoryCatalog) -> None:
    # Given two products
    first = create_product(catalog, spec(), now=NOW, new_id=next_id)
    create_product(catalog, spec("Other", ("OT-1",)), now=NOW, new_id=next_id)
    before = get_product(catalog, first.product_id)
    # When the first is replaced with the second's SKU
    with pytest.raises(SkuExists) as raised:
        replace_product(catalog, first.product_id, spec(skus=("TR-42", "OT-1")), now=NOW)
    # Then SKU_EXISTS names it and the first product is unchanged
    assert [p.field for p in raised.value.errors] == ["variants[1].sku"]
    assert get_product(catalog, first.product_id) == before
    assert catalog.ledger.skus["OT-1"].product_id != first.product_id


@pytest.mark.parametrize("product_id", ["0" * 32, "not-an-id", "A" * 32, ""])
def test_replace_or_get_of_an_unknown_product_is_not_found(catalog: InMemoryCatalog, product_id: str) -> None:
    # Given an empty catalog, When an unknown or malformed id is replaced or read, Then NOT_FOUND
    with pytest.raises(ProductNotFound):
        replace_product(catalog, product_id, spec(), now=NOW)
    with pytest.raises(ProductNotFound):
        get_product(catalog, product_id)


def test_a_replace_based_on_a_stale_version_is_refused(catalog: InMemoryCatalog) -> None:
    # Given a product at version 1 that someone already replaced (version 2)
    product = create_product(catalog, spec(), now=NOW, new_id=next_id)
    replace_product(catalog, product.product_id, spec(), now=NOW)
    # When a writer that read version 1 replaces it
    stale = ProductRecord(product.product_id, spec("Stale"), (), NOW, NOW, 2)
    with pytest.raises(ProductChanged):
        catalog.replace(stale, expected_version=1, retire=())
    # Then the product keeps the newer write
    assert get_product(catalog, product.product_id).name == "Trail Runner"


def test_listing_pages_through_every_product_once_in_name_order(catalog: InMemoryCatalog) -> None:
    # Given seven products with mixed-case names
    names = ["banana", "Apple", "cherry", "apricot", "Date", "elder", "fig"]
    for i, name in enumerate(names):
        create_product(catalog, spec(name, (f"P-{i}",)), now=NOW, new_id=next_id)
    # When listing three at a time, following each page's position
    seen: list[str] = []
    after: CatalogPosition | None = None
    pages = 0
    while True:
        page = list_products(catalog, ProductCriteria(), limit=3, after=after)
        pages += 1
        seen += [p.name for p in page.items]
        if page.next_position is None:
            break
        after = page.next_position
    # Then every product appears once, case-insensitively ordered, in three pages
    assert seen == ["Apple", "apricot", "banana", "cherry", "Date", "elder", "fig"]
    assert pages == 3


def test_listing_filters_by_category_and_name_prefix(catalog: InMemoryCatalog) -> None:
    # Given shoes and shirts
    create_product(catalog, spec("Trail Runner", ("A-1",)), now=NOW, new_id=next_id)
    create_product(catalog, spec("Trail Tee", ("A-2",), category="shirts"), now=NOW, new_id=next_id)
    create_product(catalog, spec("Road Runner", ("A-3",)), now=NOW, new_id=next_id)
    # When filtering by category, by prefix (any case), and both
    shoes = list_products(catalog, ProductCriteria(category="shoes"), limit=10)
    trail = list_products(catalog, ProductCriteria(name_prefix="TRAIL"), limit=10)
    trail_shoes = list_products(catalog, ProductCriteria(category="shoes", name_prefix="tr"), limit=10)
    # Then each listing holds exactly the matching products
    assert [p.name for p in shoes.items] == ["Road Runner", "Trail Runner"]
    assert [p.name for p in trail.items] == ["Trail Runner", "Trail Tee"]
    assert [p.name for p in trail_shoes.items] == ["Trail Runner"]
    assert shoes.next_position is None


def test_a_position_outside_the_prefix_is_an_invalid_cursor(catalog: InMemoryCatalog) -> None:
    # Given a position in the "b" range, When it is used to list the "a" prefix, Then VALIDATION_ERROR on cursor
    with pytest.raises(ValidationFailed) as raised:
        list_products(catalog, ProductCriteria(name_prefix="a"), limit=5, after=CatalogPosition("b", "0" * 32))
    assert fields(raised.value) == {"cursor"}


@pytest.mark.parametrize("limit", [0, 101])
def test_listing_limits_are_bounded(catalog: InMemoryCatalog, limit: int) -> None:
    # Given / When a limit outside 1..100 / Then the call is refused
    with pytest.raises(ValueError, match="limit"):
        list_products(catalog, ProductCriteria(), limit=limit)


def test_public_view_hides_retired_variants_and_admin_view_flags_them(catalog: InMemoryCatalog) -> None:
    # Given a product that retired TR-43
    product = create_product(catalog, spec(), now=NOW, new_id=next_id)
    replaced = replace_product(catalog, product.product_id, spec(skus=("TR-42",)), now=NOW)
    # When it is rendered for the storefront and for operators
    public, admin = public_product(replaced), admin_product(replaced)
    # Then the storefront sees TR-42 only, operators see both with TR-43 flagged retired
    assert [v["sku"] for v in public["variants"]] == ["TR-42"]
    assert set(public) == {"productId", "name", "description", "category", "variants", "updatedAt"}
    assert set(public["variants"][0]) == {"sku", "name", "price", "available"}
    assert [(v["sku"], v["retired"]) for v in admin["variants"]] == [("TR-42", False), ("TR-43", True)]
    assert public["updatedAt"] == "2026-11-22T10:00:00.000Z"


def test_positions_round_trip_and_reject_foreign_fields() -> None:
    # Given a position, When turned into cursor fields and back, Then it is unchanged
    position = CatalogPosition("trail runner", "a" * 32)
    assert CatalogPosition.from_fields(position.to_fields()) == position
    assert CatalogPosition.from_fields(None) is None
    # And fields that cannot be a position are an invalid cursor
    for bad in ({"n": "x"}, {"n": "x", "id": "nope"}, {"n": "x", "id": "a" * 32, "extra": "1"}):
        with pytest.raises(ValidationFailed):
            CatalogPosition.from_fields(bad)
