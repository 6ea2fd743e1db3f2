"""The domain events' catalogue (commerce.domain.events) and their JSON Schemas (events/schemas/) agree."""

from __future__ import annotations

import json

import pytest
from jsonschema import ValidationError

from commerce.domain.events import ORDER_PLACED, VERSIONS, versioned
from tests.support.event_schemas import SCHEMAS, check_detail

PLACED = {
    "checkoutId": "chk-1",
    "orderId": "ord-1",
    "customerId": None,
    "total": {"amount": 2400, "currency": "EUR"},
    "lines": [{"sku": "CUP-1", "quantity": 2}],
}


def test_every_event_has_a_schema_and_every_schema_an_event() -> None:
    assert {path.stem for path in SCHEMAS.glob("*.json")} == set(VERSIONS)


@pytest.mark.parametrize("detail_type", sorted(VERSIONS))
def test_a_schema_names_the_version_its_event_is_published_with(detail_type: str) -> None:
    schema = json.loads((SCHEMAS / f"{detail_type}.json").read_text())
    assert schema["properties"]["version"] == {
        "const": VERSIONS[detail_type],
        "description": schema["properties"]["version"]["description"],
    }
    assert "version" in schema["required"]
    assert schema["additionalProperties"] is False


def test_a_published_detail_carries_its_version_first() -> None:
    detail = versioned(ORDER_PLACED, PLACED)
    assert next(iter(detail)) == "version"
    assert detail == {"version": 1, **PLACED}
    check_detail(ORDER_PLACED, detail)


def test_an_event_outside_the_catalogue_is_refused() -> None:
    with pytest.raises(ValueError, match="not a domain event"):
        versioned("OrderTeleported", {"orderId": "ord-1"})


@pytest.mark.parametrize(
    "broken",
    [
        {**PLACED, "version": 2},  # a version the schema does not describe
        {key: value for key, value in PLACED.items() if key != "lines"},  # a field missing
        {**PLACED, "lines": [{"sku": "CUP-1", "quantity": 0}]},  # a line of nothing
        {**PLACED, "total": {"amount": -1, "currency": "EUR"}},
        {**PLACED, "surprise": True},  # a field no consumer was told about
    ],
)
def test_a_schema_refuses_a_detail_that_breaks_it(broken: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        check_detail(ORDER_PLACED, {"version": 1, **broken})
