"""One contract, two catalogs: the DynamoDB adapter (GSI1/GSI2 on moto) and the in-memory catalog list alike.

Names are chosen to probe the index key "<folded name>#<id>": case, accents, spaces and "#" in names.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from commerce.adapters.dynamodb.catalog import DynamoDbCatalog
from commerce.domain.catalog.errors import ProductChanged
from commerce.domain.catalog.models import CatalogPosition, ProductCriteria, ProductRecord, ProductSpec, VariantSpec
from commerce.domain.catalog.ports import CatalogRepository
from commerce.domain.catalog.service import create_product, get_product, list_products, replace_product
from commerce.domain.money import Money
from tests.support.fakes.catalog import InMemoryCatalog

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
NAMES = ["Zebra", "apple", "Äpfel", "Apple Pie", "apple#2", "Size #1", "size 2", "BANANA", "banana split", "Ω"]


@pytest.fixture(params=["memory", "dynamodb"])
def catalog(request: pytest.FixtureRequest) -> CatalogRepository:
    if request.param == "memory":
        return InMemoryCatalog()
    return DynamoDbCatalog(request.getfixturevalue("commerce_table"))


def spec(name: str, sku: str, category: str = "misc") -> ProductSpec:
    return ProductSpec(name, "", category, (VariantSpec(sku, "One", Money(100, "EUR")),))


def seed(catalog: CatalogRepository) -> dict[str, str]:
    ids = {}
    for i, name in enumerate(NAMES):
        ids[name] = create_product(catalog, spec(name, f"N-{i}", "even" if i % 2 == 0 else "odd"), now=NOW).product_id
    return ids


def walk(catalog: CatalogRepository, criteria: ProductCriteria, limit: int) -> list[str]:
    names: list[str] = []
    after: CatalogPosition | None = None
    for _ in range(len(NAMES) + 2):
        page = list_products(catalog, criteria, limit=limit, after=after)
        assert len(page.items) <= limit
        names += [p.name for p in page.items]
        if page.next_position is None:
            return names
        after = page.next_position
    raise AssertionError("the listing never ended")


def index_order(names: list[str], ids: dict[str, str]) -> list[str]:
    return sorted(names, key=lambda n: f"{n.casefold()}#{ids[n]}")


def test_every_page_size_lists_everything_once_in_index_order(catalog: CatalogRepository) -> None:
    # Given ten products with awkward names
    ids = seed(catalog)
    # When walked with page sizes 1, 3 and 100
    walks = {limit: walk(catalog, ProductCriteria(), limit) for limit in (1, 3, 100)}
    # Then each walk lists every product once in the index's order
    expected = index_order(NAMES, ids)
    assert walks == {1: expected, 3: expected, 100: expected}


def test_prefix_search_is_case_insensitive_and_not_fooled_by_hash(catalog: CatalogRepository) -> None:
    # Given the products
    ids = seed(catalog)
    # When searching prefixes (one containing "#", which also separates name and id in the index key)
    found = {
        q: walk(catalog, ProductCriteria(name_prefix=q), 2) for q in ("APP", "apple#", "size", "b", "Ω", "nothing")
    }
    # Then only names starting with the prefix (case-folded) match
    assert found["APP"] == index_order(["apple", "Apple Pie", "apple#2"], ids)
    assert found["apple#"] == ["apple#2"]
    assert found["size"] == index_order(["Size #1", "size 2"], ids)
    assert found["b"] == index_order(["BANANA", "banana split"], ids)
    assert found["Ω"] == ["Ω"]
    assert found["nothing"] == []


def test_category_listing_with_and_without_prefix(catalog: CatalogRepository) -> None:
    # Given products alternating between categories even and odd
    ids = seed(catalog)
    even = [n for i, n in enumerate(NAMES) if i % 2 == 0]
    # When listing one category, alone and with a prefix
    listed = walk(catalog, ProductCriteria(category="even"), 2)
    prefixed = walk(catalog, ProductCriteria(category="even", name_prefix="a"), 2)
    # Then exactly that category's products appear
    assert listed == index_order(even, ids)
    assert prefixed == index_order([n for n in even if n.casefold().startswith("a")], ids)
    assert walk(catalog, ProductCriteria(category="none"), 5) == []


def test_a_cursor_survives_the_rename_of_the_product_it_points_at(catalog: CatalogRepository) -> None:
    # Given a first page of two ending at some product
    ids = seed(catalog)
    page = list_products(catalog, ProductCriteria(), limit=2)
    assert page.next_position is not None
    boundary = page.items[-1]
    # When that product is renamed to sort last, and the listing continues from the old position
    replace_product(catalog, boundary.product_id, spec("zzz renamed", boundary.variants[0].sku), now=NOW)
    rest = list_products(catalog, ProductCriteria(), limit=100, after=page.next_position)
    # Then the listing continues right after the old position, the renamed product in its new place
    ids["zzz renamed"] = boundary.product_id
    expected = index_order([*index_order(NAMES, ids)[2:], "zzz renamed"], ids)
    assert [p.name for p in rest.items] == expected


def test_a_replace_from_a_stale_read_is_refused(catalog: CatalogRepository) -> None:
    # Given a product at version 1 that another operator already replaced (now version 2)
    product = create_product(catalog, spec("Original", "V-1"), now=NOW)
    replace_product(catalog, product.product_id, spec("Newer", "V-1"), now=NOW)
    # When a write based on version 1 arrives
    stale = ProductRecord(product.product_id, spec("Stale", "V-1"), (), NOW, NOW, 2)
    with pytest.raises(ProductChanged):
        catalog.replace(stale, expected_version=1, retire=())
    # Then the newer write stands
    assert get_product(catalog, product.product_id).name == "Newer"
