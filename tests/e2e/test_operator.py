"""An operator over HTTP: Cognito sign-in, products and stock; customers and strangers are kept out."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import Api

pytestmark = pytest.mark.e2e


def _product_body(sku: str, name: str = "Operator product") -> dict[str, object]:
    return {
        "name": name,
        "description": "created over HTTP",
        "category": "e2e",
        "variants": [{"sku": sku, "name": "Default", "price": {"amount": 999, "currency": "USD"}}],
    }


@pytest.mark.parametrize("kind", ["IdToken", "AccessToken"])
def test_an_operator_creates_a_product_and_stocks_it(api: Api, kind: str) -> None:
    operator = {"Authorization": f"Bearer {api.cloud.id_token('admin', kind)}"}
    sku = f"OP-{uuid.uuid4().hex[:8].upper()}"
    # When the operator creates a product, Then it exists with 0 units on hand
    created = api.call("POST", "/admin/products", json=_product_body(sku), headers=operator)
    assert created.status_code == 201, created.text
    product = created.json()
    assert product["variants"][0]["available"] == 0
    stock = api.call("GET", f"/admin/inventory/{sku}", headers=operator).json()
    assert stock == {"sku": sku, "onHand": 0, "reserved": 0, "available": 0, "shards": 1, "purchaseLimit": None}
    # When stock is set, Then the storefront sees it
    assert api.call("PUT", f"/admin/inventory/{sku}", json={"onHand": 7}, headers=operator).status_code == 200
    public = api.call("GET", f"/products/{product['productId']}").json()
    assert public["variants"][0]["available"] == 7


def test_a_duplicate_sku_is_409_and_writes_nothing(api: Api) -> None:
    sku = f"DUP-{uuid.uuid4().hex[:8].upper()}"
    assert api.call("POST", "/admin/products", json=_product_body(sku), headers=api.operator()).status_code == 201
    again = api.call("POST", "/admin/products", json=_product_body(sku, "Other"), headers=api.operator())
    assert again.status_code == 409
    assert again.json()["code"] == "SKU_EXISTS"
    names = [p["name"] for p in api.call("GET", "/admin/products", params={"q": "other"}, headers=api.operator())
             .json()["items"]]  # fmt: skip
    assert "Other" not in names


def test_stock_cannot_go_below_reserved_or_negative(api: Api) -> None:
    product = api.create_product(on_hand=3)
    negative = api.call("PUT", f"/admin/inventory/{product['sku']}", json={"onHand": -1}, headers=api.operator())
    assert negative.status_code == 400
    unknown = api.call("GET", "/admin/inventory/NO-SUCH-SKU-X", headers=api.operator())
    assert unknown.status_code == 404


def test_admin_routes_need_an_operator(api: Api) -> None:
    # No token: API Gateway's authorizer answers 401
    assert api.call("GET", "/admin/products").status_code == 401
    # A forged token: 401
    assert api.call("GET", "/admin/products", headers={"Authorization": "Bearer x.y.z"}).status_code == 401
    # A customer's token is from the customers' pool, which the operators' authorizer does not trust: 401
    # (an operator-pool user outside the admin group gets 403: tests/e2e/test_identity_matrix.py)
    assert api.call("GET", "/admin/products", headers=api.customer()).status_code == 401
    # And a customer cannot write stock either
    assert api.call("PUT", "/admin/inventory/ANY", json={"onHand": 1}, headers=api.customer()).status_code == 401
