"""The events/ samples of the catalog and stock functions match the routes template.yaml gives them."""

from __future__ import annotations

import pytest

from tests.support.lambda_events import load_event
from tests.support.template import resource

pytestmark = pytest.mark.integration

SAMPLES = {
    "list_products": ("ListProductsFunction", False),
    "get_product": ("GetProductFunction", False),
    "admin_list_products": ("AdminListProductsFunction", True),
    "create_product": ("CreateProductFunction", True),
    "replace_product": ("ReplaceProductFunction", True),
    "get_inventory": ("GetInventoryFunction", True),
    "set_inventory": ("SetInventoryFunction", True),
}


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_sample_event_matches_its_functions_route(sample: str) -> None:
    # Given the sample event and the function's HttpApi event in the template
    logical_id, operator = SAMPLES[sample]
    props = resource(logical_id)["Properties"]
    (http_event,) = [e["Properties"] for e in props["Events"].values() if e["Type"] == "HttpApi"]
    event = load_event(sample)
    # Then the route key, the method and the authorizer agree with the template
    assert props["CodeUri"] == f"functions/{sample}/"
    assert event["routeKey"] == event["requestContext"]["routeKey"] == f"{http_event['Method']} {http_event['Path']}"
    assert event["requestContext"]["http"]["method"] == http_event["Method"]
    assert ("Auth" in http_event) is operator
    claims = event["requestContext"].get("authorizer", {}).get("jwt", {}).get("claims", {})
    assert (claims.get("cognito:groups") == "[admin]") is operator
