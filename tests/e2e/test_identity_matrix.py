"""The identity matrix: every operation of openapi.yaml, called as every identity that is not the owner, with the
ids of objects that exist and belong to a victim, answers exactly what API.md says and changes nothing of hers.

The victim is the demo customer with a session of her own: a paid order, an open checkout waiting for payment,
and a cart with a line, all on a product made for this module. The attackers are made fresh for every case, so
one case's writes (a line in an attacker's own cart) cannot decide another's answer:
- anonymous: no credentials at all;
- another guest: a session token of its own;
- another customer: a Cognito user of its own, with a session token of its own.

API.md: no or invalid credentials are 401 (`UNAUTHENTICATED`, or the JWT authorizer's own body on `/admin/*`), a
customer on `/admin/*` is 401 too (the operators' authorizer takes only the operators' pool), a user of the operators'
pool outside group `admin` is 403 `FORBIDDEN` there, and an object that belongs to someone else is 404 as a missing
one is.
Routes that name no object of the victim (the caller's own cart, its own orders, a new checkout under the victim's
idempotency key) answer for the caller's own things and never show hers. Public routes answer the same to all.
After every case the victim's cart, checkouts, orders, product and stock read exactly as before.

The operations come from openapi.yaml: a new operation fails `test_every_operation_has_an_attack` until it is given
an attack here, and is then called as every identity.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from localcloud.tokens import Login, enrol_totp, user_token
from tests.e2e.conftest import Api
from tests.support.shopping import CHECKOUT_BODY, add_line, check_out, pay

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
IDENTITIES = ("anonymous", "another guest", "another customer")


@dataclass(frozen=True)
class Victim:
    """The objects the attackers aim at; `headers` are her own credentials."""

    headers: dict[str, str]
    product_id: str
    sku: str
    cart_id: str
    paid_checkout_id: str
    paid_order_id: str
    open_checkout: dict[str, Any]
    idempotency_key: str
    checkout_body: dict[str, Any]


@dataclass(frozen=True)
class Request:
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Expected:
    status: int
    code: str | None = None  # the problem's code; None for a success or the gateway's own 401
    own: Callable[[dict[str, Any], Victim], bool] | None = None  # a success shows only the caller's own things


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


OPERATIONS = _operations()


def _product_body(name: str) -> dict[str, Any]:
    sku = f"ATTACK-{uuid.uuid4().hex[:10].upper()}"
    return {
        "name": name,
        "description": "written by an attacker",
        "category": "attack",
        "variants": [{"sku": sku, "name": "Only", "price": {"amount": 1, "currency": "EUR"}}],
    }


def _forged_payment(victim: Victim) -> dict[str, Any]:
    intent = victim.open_checkout["payment"]["intentId"]
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": "payment_intent.succeeded",
        "created": 1,
        "data": {"object": {"id": intent, "object": "payment_intent", "status": "succeeded"}},
    }


# How each operation is aimed at the victim: its path with her ids, and a body that would harm her if it went through.
ATTACKS: dict[str, Callable[[Victim], Request]] = {
    "health": lambda v: Request("/health"),
    "createSession": lambda v: Request("/sessions"),
    "deleteCurrentSession": lambda v: Request("/sessions/current"),
    "listProducts": lambda v: Request("/products"),
    "getProduct": lambda v: Request(f"/products/{v.product_id}"),
    "getCart": lambda v: Request("/cart"),
    "addCartLine": lambda v: Request("/cart/lines", {"sku": v.sku, "quantity": 1}),
    "setCartLine": lambda v: Request(f"/cart/lines/{v.sku}", {"quantity": 0}),
    "removeCartLine": lambda v: Request(f"/cart/lines/{v.sku}"),
    "createCheckout": lambda v: Request("/checkouts", v.checkout_body, {"Idempotency-Key": v.idempotency_key}),
    "getCheckout": lambda v: Request(f"/checkouts/{v.open_checkout['checkoutId']}"),
    "cancelCheckout": lambda v: Request(f"/checkouts/{v.open_checkout['checkoutId']}/cancel"),
    "listOrders": lambda v: Request("/orders"),
    "getOrder": lambda v: Request(f"/orders/{v.paid_order_id}"),
    "receiveStripeWebhook": lambda v: Request(
        "/webhooks/payments/stripe", _forged_payment(v), {"Stripe-Signature": "t=1,v1=" + "0" * 64}
    ),
    "adminListProducts": lambda v: Request("/admin/products"),
    "createProduct": lambda v: Request("/admin/products", _product_body("attacker's product")),
    "replaceProduct": lambda v: Request(f"/admin/products/{v.product_id}", _product_body("replaced by an attacker")),
    "getInventory": lambda v: Request(f"/admin/inventory/{v.sku}"),
    "setInventory": lambda v: Request(f"/admin/inventory/{v.sku}", {"onHand": 0}),
    "adminListOrders": lambda v: Request("/admin/orders"),
    "adminGetOrder": lambda v: Request(f"/admin/orders/{v.paid_order_id}"),
    "fulfillOrder": lambda v: Request(f"/admin/orders/{v.paid_order_id}/fulfill"),
    "createFulfillment": lambda v: Request(
        f"/admin/orders/{v.paid_order_id}/fulfillments", {"lines": [{"sku": v.sku, "quantity": 1}]}
    ),
    "cancelOrder": lambda v: Request(f"/admin/orders/{v.paid_order_id}/cancel"),
    "refundOrder": lambda v: Request(f"/admin/orders/{v.paid_order_id}/refund"),
    "adminGetCheckout": lambda v: Request(f"/admin/checkouts/{v.open_checkout['checkoutId']}"),
    "adminListCheckouts": lambda v: Request("/admin/checkouts"),
    "adminListQueues": lambda v: Request("/admin/queues"),
    "redriveQueue": lambda v: Request("/admin/queues/checkout/redrive"),
    "adminGetUpkeep": lambda v: Request("/admin/upkeep"),
}


def _not_hers(body: dict[str, Any], victim: Victim) -> bool:
    return body.get("cartId") != victim.cart_id


def _no_lines_of_hers(body: dict[str, Any], victim: Victim) -> bool:
    return _not_hers(body, victim) and body["lines"] == []


def _none_of_her_orders(body: dict[str, Any], victim: Victim) -> bool:
    return all(order["orderId"] != victim.paid_order_id for order in body["items"])


# What a caller who is not the victim gets where the route names none of her objects (API.md: its own things).
OWN_SCOPE: dict[str, Expected] = {
    "getCart": Expected(200, own=_no_lines_of_hers),
    "addCartLine": Expected(200, own=_not_hers),
    "setCartLine": Expected(200, own=_no_lines_of_hers),  # 0 units of a line its own cart lacks: a no-op
    "createCheckout": Expected(409, "CART_EMPTY"),  # her key replays nothing for another session
    "listOrders": Expected(200, own=_none_of_her_orders),
    "deleteCurrentSession": Expected(204),  # ends the caller's own session; hers still works (the snapshot)
}
# Someone else's object answers 404 as a missing one does; a cart line is looked up in the caller's own cart.
NOT_FOUND_CODE = {"removeCartLine": "LINE_NOT_FOUND"}
PUBLIC: dict[str, Expected] = {
    "health": Expected(200),
    "createSession": Expected(201),
    "listProducts": Expected(200),
    "getProduct": Expected(200),
    "receiveStripeWebhook": Expected(400, "BAD_SIGNATURE"),
}


def expected(operation: dict[str, Any], identity: str) -> Expected:
    """API.md's answer to `identity` for `operation`, from the operation's security requirements."""
    operation_id = operation["operationId"]
    schemes = {name for requirement in operation["security"] for name in requirement}
    if not schemes:
        return PUBLIC[operation_id]
    if "operatorJwt" in schemes:
        return Expected(401)  # a customer's token too: it is not from the operators' pool
    if identity == "anonymous":
        return Expected(401, "UNAUTHENTICATED")
    return OWN_SCOPE.get(operation_id) or Expected(404, NOT_FOUND_CODE.get(operation_id, "NOT_FOUND"))


# ---------------------------------------------------------------------------------------------- the victim


@pytest.fixture(scope="module")
def victim(api: Api) -> Victim:
    """The demo customer, signed in on a session of hers: a paid order, an open checkout and a cart line."""
    headers = {"X-Session-Token": api.new_session(), **api.customer()}
    product = api.create_product(on_hand=20)
    sku = product["sku"]
    # A paid order: checked out, paid in her browser, completed by the provider's webhook
    add_line(api, headers, sku, 1)
    paid = pay(api, headers, check_out(api, headers))
    # An open checkout waiting for payment, and then a line in her cart again
    add_line(api, headers, sku, 2)
    key = str(uuid.uuid4())
    open_checkout = check_out(api, headers, key)
    cart = add_line(api, headers, sku, 1)
    return Victim(
        headers=headers,
        product_id=product["productId"],
        sku=sku,
        cart_id=cart["cartId"],
        paid_checkout_id=paid["checkoutId"],
        paid_order_id=paid["orderId"],
        open_checkout=open_checkout,
        idempotency_key=key,
        checkout_body=CHECKOUT_BODY,
    )


def snapshot(api: Api, victim: Victim) -> dict[str, Any]:
    """Everything of the victim's that an attack could change, read as she and an operator read it."""
    reads = {
        "cart": ("/cart", victim.headers),
        "open checkout": (f"/checkouts/{victim.open_checkout['checkoutId']}", victim.headers),
        "paid checkout": (f"/checkouts/{victim.paid_checkout_id}", victim.headers),
        "orders": ("/orders", victim.headers),
        "order": (f"/admin/orders/{victim.paid_order_id}", api.operator()),
        "product": (f"/products/{victim.product_id}", {}),
        "stock": (f"/admin/inventory/{victim.sku}", api.operator()),
    }
    found: dict[str, Any] = {}
    for name, (path, headers) in reads.items():
        answer = api.call("GET", path, headers=headers)
        assert answer.status_code == 200, f"{name}: {answer.text}"
        found[name] = answer.json()
    return found


# ---------------------------------------------------------------------------------------------- the attackers


def credentials(api: Api, identity: str) -> dict[str, str]:
    """Fresh credentials of `identity`, sharing nothing with the victim or with another case."""
    if identity == "anonymous":
        return {}
    headers = {"X-Session-Token": api.new_session()}
    if identity == "another customer":
        headers["Authorization"] = f"Bearer {_new_customer_token(api)}"
    return headers


def _new_user(api: Api, pool: str) -> tuple[str, str]:
    """A Cognito user of its own (in no group) in the pool output `pool` names; (username, password)."""
    cognito, outputs = api.cloud.client("cognito-idp"), api.cloud.outputs
    username, password = f"attacker-{uuid.uuid4().hex[:12]}", f"Attacker-{uuid.uuid4().hex[:12]}-1"
    cognito.admin_create_user(
        UserPoolId=outputs[pool],
        Username=username,
        MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "email", "Value": f"{username}@example.com"},
            {"Name": "email_verified", "Value": "true"},
        ],
    )
    cognito.admin_set_user_password(UserPoolId=outputs[pool], Username=username, Password=password, Permanent=True)
    return username, password


def _new_customer_token(api: Api) -> str:
    """A customer of its own (in no group), signed in as a client does."""
    username, password = _new_user(api, "UserPoolId")
    return user_token(api.cloud.outputs, Login(username, password, api.cloud.outputs["UserPoolClientId"], None))


@pytest.fixture(scope="module")
def outsider_token(api: Api) -> str:
    """A user of the operators' pool outside group `admin`, enrolled in TOTP and signed in as the console does."""
    outputs = api.cloud.outputs
    username, password = _new_user(api, "OperatorUserPoolId")
    client_id = outputs["OperatorUserPoolClientId"]
    secret = enrol_totp(api.cloud.client("cognito-idp"), client_id, username, password)
    return user_token(outputs, Login(username, password, client_id, secret))


# ---------------------------------------------------------------------------------------------- the matrix


def test_every_operation_has_an_attack() -> None:
    # Given every operation of openapi.yaml, Then each is aimed at the victim here
    assert sorted(op["operationId"] for _, _, op in OPERATIONS if op["operationId"] not in ATTACKS) == []


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize(
    ("method", "operation"),
    [pytest.param(method, operation, id=f"{method} {path}") for method, path, operation in OPERATIONS],
)
def test_an_identity_gets_what_api_md_says_and_changes_nothing_of_the_victims(
    api: Api, victim: Victim, method: str, operation: dict[str, Any], identity: str
) -> None:
    # Given the victim's objects as they are, and a caller who is not her
    before = snapshot(api, victim)
    attack = ATTACKS[operation["operationId"]](victim)
    headers = {**credentials(api, identity), **attack.headers}
    # When the caller aims the operation at her objects
    answer = api.call(method, attack.path, json=attack.body, headers=headers)
    # Then it answers exactly what API.md says for this identity
    want = expected(operation, identity)
    assert answer.status_code == want.status, answer.text
    if want.code is not None:
        assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
        assert answer.json()["code"] == want.code, answer.text
    elif answer.status_code == 401:
        # Only API Gateway's JWT authorizer may answer its own body (API.md); a function answers a problem
        body = answer.json()
        assert body.get("code") == "UNAUTHENTICATED" or body == {"message": "Unauthorized"}, answer.text
    if want.own is not None:
        assert want.own(answer.json(), victim), answer.text
    # And nothing of hers changed
    assert snapshot(api, victim) == before


@pytest.mark.parametrize(
    ("method", "operation"),
    [pytest.param(m, op, id=f"{m} {path}") for m, path, op in OPERATIONS if path.startswith("/admin/")],
)
def test_an_operator_outside_group_admin_is_403_on_admin_routes_and_changes_nothing(
    api: Api, victim: Victim, outsider_token: str, method: str, operation: dict[str, Any]
) -> None:
    # Given a user of the operators' pool, signed in with their TOTP code but not in group admin
    before = snapshot(api, victim)
    attack = ATTACKS[operation["operationId"]](victim)
    # When they call an /admin route: the operators' authorizer lets the token through
    headers = {"Authorization": f"Bearer {outsider_token}", **attack.headers}
    answer = api.call(method, attack.path, json=attack.body, headers=headers)
    # Then the function refuses them, 403 FORBIDDEN, and nothing of the victim's changed
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    assert answer.json()["code"] == "FORBIDDEN", answer.text
    assert snapshot(api, victim) == before
