"""The catalog's request models: strict bodies, lenient-but-closed query parameters."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from commerce.api.pagination import PageQuery
from commerce.domain.catalog.models import MAX_VARIANTS, ProductCriteria
from commerce.domain.catalog.schemas import MAX_PRICE_AMOUNT, ProductBody, ProductFilters
from commerce.domain.money import Money


def body(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "Trail Runner",
        "description": "A shoe.",
        "category": "shoes",
        "variants": [{"sku": "TR-42", "name": "EU 42", "price": {"amount": 12900, "currency": "EUR"}}],
    }
    return {**base, **overrides}


def variant(**overrides: Any) -> dict[str, Any]:
    return {"sku": "TR-42", "name": "EU 42", "price": {"amount": 12900, "currency": "EUR"}, **overrides}


def error_locations(raw: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as raised:
        ProductBody.model_validate_json(json.dumps(raw))
    return {".".join(str(part) for part in e["loc"]) for e in raised.value.errors()}


def test_a_valid_body_becomes_a_spec_with_money() -> None:
    # Given a valid body with padded names, When parsed, Then names are trimmed and prices are Money
    spec = ProductBody.model_validate_json(json.dumps(body(name="  Trail Runner  "))).to_spec()
    assert spec.name == "Trail Runner"
    assert spec.variants[0].price == Money(12900, "EUR")
    assert spec.skus == ("TR-42",)


def test_description_is_required_but_may_be_empty() -> None:
    # Given a body without description, When parsed, Then it is refused; an empty one is accepted
    raw = body()
    del raw["description"]
    assert "description" in error_locations(raw)
    assert ProductBody.model_validate_json(json.dumps(body(description=""))).description == ""


@pytest.mark.parametrize(
    ("raw", "location"),
    [
        (body(name=""), "name"),
        (body(name="   "), "name"),
        (body(name="x" * 201), "name"),
        (body(name="tab\there"), "name"),
        (body(name=7), "name"),
        (body(category=""), "category"),
        (body(description="x" * 5001), "description"),
        (body(variants=[]), "variants"),
        (body(variants=[variant()] * (MAX_VARIANTS + 1)), "variants"),
        (body(variants=[variant(sku="tr-42")]), "variants.0.sku"),
        (body(variants=[variant(sku="-TR")]), "variants.0.sku"),
        (body(variants=[variant(sku="T" * 65)]), "variants.0.sku"),
        (body(variants=[variant(name="")]), "variants.0.name"),
        (body(variants=[variant(price={"amount": "12900", "currency": "EUR"})]), "variants.0.price.amount"),
        (body(variants=[variant(price={"amount": 129.5, "currency": "EUR"})]), "variants.0.price.amount"),
        (body(variants=[variant(price={"amount": True, "currency": "EUR"})]), "variants.0.price.amount"),
        (body(variants=[variant(price={"amount": -1, "currency": "EUR"})]), "variants.0.price.amount"),
        (
            body(variants=[variant(price={"amount": MAX_PRICE_AMOUNT + 1, "currency": "EUR"})]),
            "variants.0.price.amount",
        ),
        (body(variants=[variant(price={"amount": 1, "currency": "eur"})]), "variants.0.price.currency"),
        (body(variants=[variant(price={"amount": 1, "currency": "ABC"})]), "variants.0.price.currency"),
        (body(variants=[variant(price={"amount": 1, "currency": "XAU"})]), "variants.0.price.currency"),
        (body(variants=[variant(price={"amount": 1})]), "variants.0.price.currency"),
        (body(variants=[variant(stock=5)]), "variants.0.stock"),
        (body(productId="abc"), "productId"),
        (body(variants={"sku": "TR-42"}), "variants"),
    ],
)
def test_bad_bodies_name_the_offending_field(raw: dict[str, Any], location: str) -> None:
    # Given a body with one bad field, When parsed, Then the error points at that field
    assert location in error_locations(raw)


def test_query_parameters_parse_from_strings_and_reject_unknown_names() -> None:
    # Given the query model a list endpoint uses
    class Query(PageQuery, ProductFilters):
        pass

    # When parsing strings, Then limit becomes an int and blank filters mean none
    query = Query.model_validate({"limit": "5", "q": "", "category": "  "})
    assert query.limit == 5
    assert query.criteria() == ProductCriteria()
    assert Query.model_validate({}).limit == 20
    # And out-of-range limits, non-numbers and unknown parameters are refused
    for bad in ({"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"limit": "2.5"}, {"sort": "price"}):
        with pytest.raises(ValidationError):
            Query.model_validate(bad)


def test_cursor_scope_differs_per_filter() -> None:
    # Given two filter sets, When their scopes are compared, Then they differ (cursors do not cross listings)
    assert ProductFilters(category="shoes").cursor_scope() != ProductFilters(q="shoes").cursor_scope()
    assert ProductFilters().cursor_scope() == ProductFilters(q="").cursor_scope()
