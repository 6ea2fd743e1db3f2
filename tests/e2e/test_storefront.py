"""A storefront's first minutes over HTTP: health, a session, the catalog, a cart."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Api

pytestmark = pytest.mark.e2e


def test_health_answers_ok(api: Api) -> None:
    response = api.call("GET", "/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["X-Request-Id"]


def test_a_session_is_an_opaque_token_with_an_expiry(api: Api) -> None:
    # When a storefront opens a session
    response = api.call("POST", "/sessions")
    # Then it gets 201 with a long random token, its id and an RFC 3339 expiry
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"sessionId", "token", "expiresAt"}
    assert len(body["token"]) >= 32
    assert body["expiresAt"].endswith("Z")


def test_the_demo_catalog_pages_and_filters(api: Api) -> None:
    # Given the demo catalog, When the first page of two is read
    first = api.call("GET", "/products", params={"limit": 2})
    assert first.status_code == 200
    page = first.json()
    assert len(page["items"]) == 2
    assert page["nextCursor"]
    # Then the next page continues without repeating a product
    second = api.call("GET", "/products", params={"limit": 2, "cursor": page["nextCursor"]}).json()
    assert {p["productId"] for p in page["items"]}.isdisjoint({p["productId"] for p in second["items"]})
    # And a product is readable by id, with its variants' availability
    product = page["items"][0]
    one = api.call("GET", f"/products/{product['productId']}")
    assert one.status_code == 200
    assert one.json()["variants"][0]["available"] >= 0
    # And a category filter and a name prefix narrow the list
    by_category = api.call("GET", "/products", params={"category": product["category"]}).json()["items"]
    assert by_category
    assert all(p["category"] == product["category"] for p in by_category)
    prefix = product["name"][:3]
    by_name = api.call("GET", "/products", params={"q": prefix.lower()}).json()["items"]
    assert all(p["name"].lower().startswith(prefix.lower()) for p in by_name)


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/products/does-not-exist", None, 404, "NOT_FOUND"),
        ("/products", {"limit": "0"}, 400, "VALIDATION_ERROR"),
        ("/products", {"limit": "101"}, 400, "VALIDATION_ERROR"),
        ("/products", {"cursor": "not-a-cursor"}, 400, "VALIDATION_ERROR"),
    ],
)
def test_catalog_bad_requests_are_problems(
    api: Api, path: str, params: dict[str, str] | None, status: int, code: str
) -> None:
    response = api.call("GET", path, params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_a_cart_adds_merges_sets_and_removes_lines_priced_by_the_catalog(api: Api) -> None:
    # Given a product with 5 units and a session
    product = api.create_product(on_hand=5, price=1250)
    sku, token = product["sku"], api.new_session()
    headers = {"X-Session-Token": token}
    # When the cart is read before anything is added, Then it is empty
    empty = api.call("GET", "/cart", headers=headers)
    assert empty.status_code == 200
    assert empty.json()["lines"] == []
    # When 2 and then 1 more are added, Then one line holds 3 at the catalog price
    api.call("POST", "/cart/lines", json={"sku": sku, "quantity": 2}, headers=headers)
    cart = api.call("POST", "/cart/lines", json={"sku": sku, "quantity": 1}, headers=headers).json()
    assert [(line["sku"], line["quantity"]) for line in cart["lines"]] == [(sku, 3)]
    assert cart["lines"][0]["unitPrice"] == {"amount": 1250, "currency": "EUR"}
    assert cart["subtotal"] == {"amount": 3750, "currency": "EUR"}
    assert cart["itemCount"] == 3
    # When the line is set to 1, Then the subtotal follows
    cart = api.call("PUT", f"/cart/lines/{sku}", json={"quantity": 1}, headers=headers).json()
    assert cart["subtotal"]["amount"] == 1250
    # When more than is available is asked for, Then 409 INSUFFICIENT_STOCK and the cart is unchanged
    too_many = api.call("PUT", f"/cart/lines/{sku}", json={"quantity": 6}, headers=headers)
    assert too_many.status_code == 409
    assert too_many.json()["code"] == "INSUFFICIENT_STOCK"
    assert api.call("GET", "/cart", headers=headers).json()["itemCount"] == 1
    # When the line is removed, Then the cart is empty, and removing it again is 404 LINE_NOT_FOUND
    assert api.call("DELETE", f"/cart/lines/{sku}", headers=headers).json()["lines"] == []
    again = api.call("DELETE", f"/cart/lines/{sku}", headers=headers)
    assert again.status_code == 404
    assert again.json()["code"] == "LINE_NOT_FOUND"


def test_a_catalog_price_change_reprices_the_cart(api: Api) -> None:
    # Given a cart holding a product at 1000
    product = api.create_product(on_hand=3, price=1000)
    headers = {"X-Session-Token": api.new_session()}
    api.call("POST", "/cart/lines", json={"sku": product["sku"], "quantity": 2}, headers=headers)
    # When the operator changes the price to 800
    body = {
        "name": product["name"],
        "description": product["description"],
        "category": product["category"],
        "variants": [{"sku": product["sku"], "name": "Only", "price": {"amount": 800, "currency": "EUR"}}],
    }
    replaced = api.call("PUT", f"/admin/products/{product['productId']}", json=body, headers=api.operator())
    assert replaced.status_code == 200
    # Then the cart shows the new price: prices come from the catalog, never from the cart or the client
    assert api.call("GET", "/cart", headers=headers).json()["subtotal"] == {"amount": 1600, "currency": "EUR"}


def test_cart_limits_and_unknown_skus(api: Api) -> None:
    product = api.create_product(on_hand=50)
    headers = {"X-Session-Token": api.new_session()}
    over_cap = api.call("POST", "/cart/lines", json={"sku": product["sku"], "quantity": 11}, headers=headers)
    assert over_cap.status_code == 422
    assert over_cap.json()["code"] == "CART_LIMIT"
    unknown = api.call("POST", "/cart/lines", json={"sku": "NO-SUCH-SKU", "quantity": 1}, headers=headers)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "SKU_NOT_FOUND"
    assert api.call("GET", "/cart", headers=headers).json()["lines"] == []


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ("{not json", {"content-type": "application/json"}),
        ('{"sku": "X", "quantity": "2"}', {"content-type": "application/json"}),
        ('{"sku": "X", "quantity": 1, "price": 1}', {"content-type": "application/json"}),
        ('{"sku": "X", "quantity": -1}', {"content-type": "application/json"}),
        ('{"sku": "X", "quantity": 99999999999999999999}', {"content-type": "application/json"}),
    ],
)
def test_malformed_cart_bodies_are_400_and_change_nothing(api: Api, body: str, headers: dict[str, str]) -> None:
    token = api.new_session()
    response = api.call("POST", "/cart/lines", data=body, headers={**headers, "X-Session-Token": token})
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert api.call("GET", "/cart", headers={"X-Session-Token": token}).json()["lines"] == []


def test_an_oversized_body_is_413(api: Api) -> None:
    token = api.new_session()
    body = '{"sku": "' + "A" * (65 * 1024) + '", "quantity": 1}'
    response = api.call("POST", "/cart/lines", data=body, headers={"X-Session-Token": token})
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize("token", [None, "", "garbage", "abc.def", "x" * 500])
def test_missing_or_bogus_session_tokens_are_401(api: Api, token: str | None) -> None:
    headers = {} if token is None else {"X-Session-Token": token}
    response = api.call("GET", "/cart", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


def test_a_signed_in_customer_keeps_the_guest_cart(api: Api) -> None:
    # Given a guest cart with one line
    product = api.create_product(on_hand=10)
    token = api.new_session()
    api.call("POST", "/cart/lines", json={"sku": product["sku"], "quantity": 2}, headers={"X-Session-Token": token})
    # When the customer signs in and calls with both the session and the JWT
    both = {"X-Session-Token": token, **api.customer()}
    cart = api.call("GET", "/cart", headers=both)
    # Then the guest line is in the customer's cart
    assert cart.status_code == 200
    assert {line["sku"]: line["quantity"] for line in cart.json()["lines"]}.get(product["sku"]) == 2
    # And a forged bearer token is refused
    forged = api.call("GET", "/cart", headers={"X-Session-Token": token, "Authorization": "Bearer a.b.c"})
    assert forged.status_code == 401


def test_cors_preflight_allows_the_storefront_headers(api: Api) -> None:
    response = api.call(
        "OPTIONS",
        "/cart/lines",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-session-token",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] in ("*", "https://shop.example")
    assert "x-session-token" in response.headers["access-control-allow-headers"].lower()


def test_unknown_routes_are_404(api: Api) -> None:
    assert api.call("GET", "/no/such/route").status_code == 404
