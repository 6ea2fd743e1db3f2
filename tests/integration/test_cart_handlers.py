"""The four cart functions against moto: catalog pricing, caps, stock, currency, sessions and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from commerce.adapters.dynamodb.client import to_attrs
from tests.support.carts import SAMPLE_SKU, Storefront, configure, line_quantities

pytestmark = pytest.mark.integration


@pytest.fixture
def storefront(commerce_table: str, monkeypatch: pytest.MonkeyPatch) -> Storefront:
    configure(monkeypatch, CART_MAX_LINES="3")
    shop = Storefront(commerce_table)
    shop.seed_sku(SAMPLE_SKU, amount=1500, available=8)
    shop.seed_sku("MUG-WHITE", amount=900, product_name="Mug", variant_name="White", available=100)
    shop.seed_sku("CAP-BLACK", amount=2000, product_name="Cap", variant_name="Black")
    shop.seed_sku("SOCKS-GREY", amount=500, product_name="Socks", variant_name="Grey")
    shop.seed_sku("OLD-HAT", retired=True)
    shop.seed_sku("IMPORT-TEA", currency="USD")
    return shop


def test_a_new_session_gets_an_empty_cart_without_any_write(storefront: Storefront) -> None:
    # Given a new session
    token = storefront.new_session()
    before = storefront.items()
    # When it reads its cart
    answer = storefront.call("get_cart", token)
    # Then it is an empty cart in the API's shape, and nothing was written
    assert answer.status == 200
    assert answer.body["lines"] == []
    assert answer.body["itemCount"] == 0
    assert answer.body["subtotal"] == {"amount": 0, "currency": "XXX"}
    assert set(answer.body) == {"cartId", "lines", "subtotal", "itemCount", "updatedAt"}
    assert storefront.items() == before


def test_lines_are_priced_from_the_catalog_and_only_sku_and_quantity_are_stored(storefront: Storefront) -> None:
    # Given a session
    token = storefront.new_session()
    session_id = token.split(".")[0]
    # When it adds 2 then 1 of the sample SKU (the events/ sample body adds 2)
    first = storefront.call("add_cart_line", token)
    second = storefront.add(token, SAMPLE_SKU, 1)
    # Then the line holds 3 at the catalog price
    assert first.status == 200
    assert second.status == 200
    assert second.body["lines"] == [
        {
            "sku": SAMPLE_SKU,
            "productId": "0123456789abcdef0123456789abcdef",
            "name": "Organic T-Shirt (Red / M)",
            "quantity": 3,
            "unitPrice": {"amount": 1500, "currency": "EUR"},
            "lineTotal": {"amount": 4500, "currency": "EUR"},
        }
    ]
    assert second.body["subtotal"] == {"amount": 4500, "currency": "EUR"}
    assert second.body["itemCount"] == 3
    assert second.body["cartId"] == first.body["cartId"]
    # And the stored cart has no prices, a version per write and a TTL like its session's
    item = storefront.item(f"CART#SESSION#{session_id}", "CART")
    assert item is not None
    assert item["lines"] == [{"sku": SAMPLE_SKU, "quantity": 3}]
    assert item["version"] == 2
    assert item["ttl"] >= int((datetime.now(UTC) + timedelta(days=7)).timestamp()) - 5


def test_every_read_re_prices_from_the_catalog(storefront: Storefront) -> None:
    # Given a cart with 2 mugs at 9.00
    token = storefront.new_session()
    storefront.add(token, "MUG-WHITE", 2)
    # When the catalog price changes to 11.00
    storefront.seed_sku("MUG-WHITE", amount=1100, product_name="Mug", variant_name="White")
    # Then the cart shows the new price
    answer = storefront.call("get_cart", token)
    assert answer.body["lines"][0]["unitPrice"] == {"amount": 1100, "currency": "EUR"}
    assert answer.body["subtotal"] == {"amount": 2200, "currency": "EUR"}


def test_put_sets_a_quantity_and_zero_removes_the_line(storefront: Storefront) -> None:
    # Given a cart with 2 mugs
    token = storefront.new_session()
    storefront.add(token, "MUG-WHITE", 2)
    # When the sample SKU is set to 3 (a new line), and the mugs to 5
    storefront.call("set_cart_line", token, body={"quantity": 3}, sku=SAMPLE_SKU)
    set_mugs = storefront.call("set_cart_line", token, body={"quantity": 5}, sku="MUG-WHITE")
    # Then both lines hold what was set, in the order they were added
    assert set_mugs.status == 200
    assert [(line["sku"], line["quantity"]) for line in set_mugs.body["lines"]] == [
        ("MUG-WHITE", 5),
        (SAMPLE_SKU, 3),
    ]
    # When the mugs are set to 0, Then the line is gone; setting 0 again is still 200
    emptied = storefront.call("set_cart_line", token, body={"quantity": 0}, sku="MUG-WHITE")
    assert line_quantities(emptied) == {SAMPLE_SKU: 3}
    assert storefront.call("set_cart_line", token, body={"quantity": 0}, sku="MUG-WHITE").status == 200


def test_delete_removes_a_line_and_a_missing_line_is_404(storefront: Storefront) -> None:
    # Given a cart with the sample SKU and mugs
    token = storefront.new_session()
    storefront.add(token, SAMPLE_SKU, 1)
    storefront.add(token, "MUG-WHITE", 1)
    # When the sample SKU's line is deleted (the events/ sample), Then only the mugs remain
    removed = storefront.call("remove_cart_line", token)
    assert removed.status == 200
    assert line_quantities(removed) == {"MUG-WHITE": 1}
    # When it is deleted again, Then it is 404 LINE_NOT_FOUND and nothing changes
    before = storefront.items()
    again = storefront.call("remove_cart_line", token)
    assert again.status == 404
    assert again.code == "LINE_NOT_FOUND"
    assert storefront.items() == before


@pytest.mark.parametrize(
    ("sku", "quantity", "status", "code"),
    [
        ("NO-SUCH-SKU", 1, 404, "SKU_NOT_FOUND"),
        ("OLD-HAT", 1, 404, "SKU_NOT_FOUND"),
        (SAMPLE_SKU, 9, 409, "INSUFFICIENT_STOCK"),  # 8 available
        ("MUG-WHITE", 11, 422, "CART_LIMIT"),  # per-line cap 10
        ("IMPORT-TEA", 1, 409, "CONFLICT"),  # the cart is in EUR
    ],
)
def test_refused_additions_answer_their_code_and_change_nothing(
    storefront: Storefront, sku: str, quantity: int, status: int, code: str
) -> None:
    # Given a cart in EUR with one mug
    token = storefront.new_session()
    storefront.add(token, "MUG-WHITE", 1)
    before = storefront.items()
    # When the addition is refused, by POST and by PUT alike
    for answer in (
        storefront.add(token, sku, quantity),
        storefront.call("set_cart_line", token, body={"quantity": quantity}, sku=sku),
    ):
        # Then it is problem+json with the documented code, and nothing was written
        assert answer.status == status, answer.body
        assert answer.code == code
        assert answer.headers["Content-Type"] == "application/problem+json"
    assert storefront.items() == before


def test_a_cart_holds_at_most_the_configured_number_of_lines(storefront: Storefront) -> None:
    # Given CART_MAX_LINES=3 and a cart with 3 lines
    token = storefront.new_session()
    for sku in ("MUG-WHITE", "CAP-BLACK", "SOCKS-GREY"):
        assert storefront.add(token, sku, 1).status == 200
    # When a fourth SKU is added, Then it is 422 CART_LIMIT; adding to an existing line still works
    assert storefront.add(token, SAMPLE_SKU, 1).code == "CART_LIMIT"
    assert storefront.add(token, "CAP-BLACK", 1).status == 200


BAD_BODIES: list[tuple[str, str, int]] = [
    ("{not json", "VALIDATION_ERROR", 400),
    ("", "VALIDATION_ERROR", 400),
    ('{"sku": "MUG-WHITE", "quantity": "2"}', "VALIDATION_ERROR", 400),
    ('{"sku": "MUG-WHITE", "quantity": 2.0}', "VALIDATION_ERROR", 400),
    ('{"sku": "MUG-WHITE", "quantity": true}', "VALIDATION_ERROR", 400),
    ('{"sku": "MUG-WHITE", "quantity": 0}', "VALIDATION_ERROR", 400),
    ('{"sku": "MUG-WHITE", "quantity": -1}', "VALIDATION_ERROR", 400),
    ('{"sku": "MUG-WHITE", "quantity": 100000000000000000000000}', "VALIDATION_ERROR", 400),
    ('{"sku": "MUG-WHITE"}', "VALIDATION_ERROR", 400),
    ('{"sku": "MUG-WHITE", "quantity": 1, "unitPrice": {"amount": 1, "currency": "EUR"}}', "VALIDATION_ERROR", 400),
    ('{"sku": "mug-white", "quantity": 1}', "VALIDATION_ERROR", 400),
    ('{"sku": "", "quantity": 1}', "VALIDATION_ERROR", 400),
    ('{"sku": 42, "quantity": 1}', "VALIDATION_ERROR", 400),
    ("[]", "VALIDATION_ERROR", 400),
    ('{"sku": "MUG-WHITE", "quantity": 1, "pad": "' + "x" * (64 * 1024) + '"}', "PAYLOAD_TOO_LARGE", 413),
]


@pytest.mark.parametrize(("raw", "code", "status"), BAD_BODIES)
def test_bad_add_bodies_are_400_or_413_and_change_nothing(
    storefront: Storefront, raw: str, code: str, status: int
) -> None:
    # Given a session with a cart
    token = storefront.new_session()
    storefront.add(token, "MUG-WHITE", 1)
    before = storefront.items()
    # When POST /cart/lines gets a bad body
    answer = storefront.call("add_cart_line", token, raw_body=raw)
    # Then it is problem+json 400/413 and nothing was written
    assert answer.status == status, answer.body
    assert answer.code == code
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert storefront.items() == before


@pytest.mark.parametrize(
    ("raw", "sku", "status"),
    [
        ('{"quantity": "2"}', "MUG-WHITE", 400),
        ('{"quantity": -1}', "MUG-WHITE", 400),
        ('{"quantity": 1e3}', "MUG-WHITE", 400),
        ('{"quantity": 99999999999999999999}', "MUG-WHITE", 400),
        ('{"quantity": 1, "sku": "MUG-WHITE"}', "MUG-WHITE", 400),
        ("{}", "MUG-WHITE", 400),
        ("{oops", "MUG-WHITE", 400),
        ('{"quantity": 1}', "mug-white", 400),
        ('{"quantity": 1}', "X" * 65, 400),
        ('{"quantity": 1}', "MUG%20WHITE", 400),
        ('{"quantity": 1, "x": "' + "y" * (64 * 1024) + '"}', "MUG-WHITE", 413),
    ],
)
def test_bad_put_requests_are_refused_and_change_nothing(
    storefront: Storefront, raw: str, sku: str, status: int
) -> None:
    # Given a session with a cart
    token = storefront.new_session()
    storefront.add(token, "MUG-WHITE", 1)
    before = storefront.items()
    # When PUT /cart/lines/{sku} gets a bad body or path
    answer = storefront.call("set_cart_line", token, raw_body=raw, sku=sku)
    # Then it is problem+json and nothing was written
    assert answer.status == status, answer.body
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert storefront.items() == before


def test_a_bad_sku_in_the_delete_path_is_400(storefront: Storefront) -> None:
    # Given a cart, When DELETE names a SKU that cannot exist, Then it is 400 naming the field, nothing changes
    token = storefront.new_session()
    storefront.add(token, "MUG-WHITE", 1)
    before = storefront.items()
    answer = storefront.call("remove_cart_line", token, sku="mug-white")
    assert answer.status == 400
    assert answer.body["errors"][0]["field"] == "sku"
    assert storefront.items() == before


def expire(storefront: Storefront, token: str) -> None:
    """Move the session's expiry into the past, leaving the item in place as DynamoDB's lazy TTL would."""
    past = datetime.now(UTC) - timedelta(minutes=1)
    storefront.client.update_item(
        TableName=storefront.table,
        Key=to_attrs({"PK": f"SESSION#{token.split('.')[0]}", "SK": "SESSION"}),
        UpdateExpression="SET expiresAt = :at",
        ExpressionAttributeValues=to_attrs({":at": past.isoformat()}),
    )


def tamper(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


CART_FUNCTIONS = ["get_cart", "add_cart_line", "set_cart_line", "remove_cart_line"]


@pytest.mark.parametrize("credential", ["missing", "malformed", "unknown", "tampered", "expired", "basic-auth"])
def test_without_a_valid_session_every_cart_call_is_401_and_changes_nothing(
    storefront: Storefront, credential: str
) -> None:
    # Given a session with a line in its cart, and a credential that is wrong in one way
    token = storefront.new_session()
    storefront.add(token, SAMPLE_SKU, 1)
    extra: dict[str, Any] = {}
    if credential == "expired":
        expire(storefront, token)
    if credential == "basic-auth":
        extra["headers"] = {"Authorization": "Basic dXNlcjpwYXNz"}
    presented = {
        "malformed": "definitely-not-a-token",
        "unknown": "A" * 22 + "." + "B" * 43,
        "tampered": tamper(token),
        "expired": token,
        "basic-auth": token,
    }.get(credential)
    before = storefront.items()
    for function in CART_FUNCTIONS:
        # When each cart function is called with it (its sample event otherwise)
        answer = (
            storefront.call(function, **extra) if presented is None else storefront.call(function, presented, **extra)
        )
        # Then it is 401 UNAUTHENTICATED problem+json
        assert answer.status == 401, (function, answer.body)
        assert answer.code == "UNAUTHENTICATED"
        assert answer.headers["Content-Type"] == "application/problem+json"
    # And nothing was written
    assert storefront.items() == before


def test_a_stale_session_slides_its_expiry_with_its_guest_cart(storefront: Storefront) -> None:
    # Given a session with a cart whose stored expiry is 5 days out (last extended 2 days ago)
    token = storefront.new_session()
    storefront.add(token, "MUG-WHITE", 1)
    session_id = token.split(".")[0]
    stale = datetime.now(UTC) + timedelta(days=5)
    for pk, sk in ((f"SESSION#{session_id}", "SESSION"), (f"CART#SESSION#{session_id}", "CART")):
        storefront.client.update_item(
            TableName=storefront.table,
            Key=to_attrs({"PK": pk, "SK": sk}),
            UpdateExpression="SET expiresAt = :at, #ttl = :ttl",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues=to_attrs({":at": stale.isoformat(), ":ttl": int(stale.timestamp())}),
        )
    # When the cart is read
    assert storefront.call("get_cart", token).status == 200
    # Then the session and its guest cart both expire 7 days from now
    week = int((datetime.now(UTC) + timedelta(days=7)).timestamp())
    session = storefront.item(f"SESSION#{session_id}", "SESSION")
    cart = storefront.item(f"CART#SESSION#{session_id}", "CART")
    assert session is not None
    assert cart is not None
    assert week - 5 <= session["ttl"] <= week
    assert week - 5 <= cart["ttl"] <= week
    # And a read right after writes nothing more
    before = storefront.items()
    storefront.call("get_cart", token)
    assert storefront.items() == before


def test_a_stale_session_without_a_cart_slides_alone(storefront: Storefront) -> None:
    # Given a session without a cart whose stored expiry is 2 days out
    token = storefront.new_session()
    key = {"PK": f"SESSION#{token.split('.')[0]}", "SK": "SESSION"}
    stale = datetime.now(UTC) + timedelta(days=2)
    storefront.client.update_item(
        TableName=storefront.table,
        Key=to_attrs(key),
        UpdateExpression="SET expiresAt = :at, #ttl = :ttl",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues=to_attrs({":at": stale.isoformat(), ":ttl": int(stale.timestamp())}),
    )
    # When the cart is read
    assert storefront.call("get_cart", token).status == 200
    # Then the session expires 7 days from now, and still no cart was created
    session = storefront.item(key["PK"], key["SK"])
    assert session is not None
    assert session["ttl"] >= int((datetime.now(UTC) + timedelta(days=7)).timestamp()) - 5
    assert storefront.item(f"CART#SESSION#{token.split('.')[0]}", "CART") is None
