"""Views with `to_json` answer what openapi.yaml's response schema says: valid against it, and no undocumented field.

The orders and admin checkout views are checked the same way by their handler tests (tests/integration); this
covers the views built from plain domain objects: the cart and the stock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from commerce.domain.carts.models import PricedCart, PricedLine
from commerce.domain.inventory.models import Stock
from commerce.domain.money import Money
from tests.unit.test_openapi import resolve, spec

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LINE = PricedLine(sku="TS-RED-M", product_id="p-1", name="T-shirt (red, M)", quantity=2, unit_price=Money(1500, "EUR"))


def undocumented(document: Any, schema: Any, where: str = "$") -> list[str]:
    """Fields of `document` that `schema` (and the schemas it names) does not list."""
    schema = resolve(schema)
    found: list[str] = []
    if isinstance(document, dict) and "properties" in schema:
        for key, value in document.items():
            if key not in schema["properties"]:
                found.append(f"{where}.{key}")
            else:
                found += undocumented(value, schema["properties"][key], f"{where}.{key}")
    if isinstance(document, list) and "items" in schema:
        for index, value in enumerate(document):
            found += undocumented(value, schema["items"], f"{where}[{index}]")
    return found


@pytest.mark.parametrize(
    ("component", "view"),
    [
        ("Cart", PricedCart(cart_id="c-1", currency=None, lines=(), updated_at=NOW)),
        ("Cart", PricedCart(cart_id="c-1", currency="EUR", lines=(LINE,), updated_at=NOW)),
        ("Stock", Stock(sku="TS-RED-M", on_hand=10, reserved=3)),
    ],
    ids=["empty cart", "cart", "stock"],
)
def test_views_answer_their_documented_schema(component: str, view: Any) -> None:
    # Given a view's JSON and openapi.yaml's schema for it
    body = view.to_json()
    schema = {"$ref": f"#/components/schemas/{component}", "components": spec()["components"]}
    # Then the body is valid against the schema, and carries no field the schema does not document
    assert list(Draft202012Validator(schema).iter_errors(body)) == []
    assert undocumented(body, spec()["components"]["schemas"][component]) == []


def test_undocumented_fields_are_found() -> None:
    # Given a stock body with one field more than its schema, Then that field is reported
    body = {**Stock(sku="A", on_hand=1, reserved=0).to_json(), "warehouse": "north"}
    assert undocumented(body, spec()["components"]["schemas"]["Stock"]) == ["$.warehouse"]
