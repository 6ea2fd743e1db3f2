"""Customers: real Cognito tokens (moto's user pool, InitiateAuth USER_PASSWORD_AUTH), verified against the
pool's JWKS fetched over HTTP from the local edge; sign-in binds the session and merges the guest cart."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from moto.utilities.utils import load_resource

from commerce.adapters.cognito_jwt import issuer_for
from localcloud.edge import EdgeApp
from localcloud.server import BackgroundServer
from tests.support.carts import SAMPLE_SKU, Storefront, configure, line_quantities

pytestmark = pytest.mark.integration

PASSWORD = "Correct-Horse-42"


@dataclass(frozen=True)
class Customer:
    sub: str
    id_token: str
    access_token: str


@dataclass(frozen=True)
class Pool:
    id: str
    client_id: str
    edge_url: str


@pytest.fixture
def edge() -> Iterator[BackgroundServer]:
    """moto's Cognito JWKS route served over real HTTP: in-process mocks do not intercept urllib."""
    with BackgroundServer(EdgeApp(), name="jwks-edge") as server:
        yield server


@pytest.fixture
def pool(commerce_table: str, edge: BackgroundServer) -> Pool:
    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    pool_id = cognito.create_user_pool(PoolName=f"shoppers-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="storefront", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    return Pool(id=pool_id, client_id=client_id, edge_url=edge.url)


def sign_up(pool: Pool, username: str) -> Customer:
    """A confirmed user and the tokens a storefront gets for them, the way a real client gets them."""
    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    cognito.admin_create_user(UserPoolId=pool.id, Username=username, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool.id, Username=username, Password=PASSWORD, Permanent=True)
    tokens = cognito.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    sub = cognito.get_user(AccessToken=tokens["AccessToken"])["UserAttributes"]
    return Customer(
        sub=next(a["Value"] for a in sub if a["Name"] == "sub"),
        id_token=tokens["IdToken"],
        access_token=tokens["AccessToken"],
    )


@pytest.fixture
def storefront(commerce_table: str, pool: Pool, monkeypatch: pytest.MonkeyPatch) -> Storefront:
    configure(
        monkeypatch,
        USER_POOL_ID=pool.id,
        USER_POOL_CLIENT_ID=pool.client_id,
        AWS_ENDPOINT_URL_COGNITO_IDP=pool.edge_url,
        CART_MAX_LINE_QUANTITY="10",
    )
    shop = Storefront(commerce_table)
    shop.seed_sku(SAMPLE_SKU, available=50)
    shop.seed_sku("MUG-WHITE", amount=900, available=50)
    shop.seed_sku("CAP-BLACK", amount=2000, available=50)
    return shop


def test_signing_in_merges_the_guest_cart_into_the_customers_cart_once(storefront: Storefront, pool: Pool) -> None:
    # Given a customer whose cart (from another device) has 6 mugs
    ada = sign_up(pool, "ada@example.com")
    other_device = storefront.new_session()
    assert storefront.add(other_device, "MUG-WHITE", 6, bearer=ada.id_token).status == 200
    # And a guest session on this device with 7 mugs and a cap
    token = storefront.new_session()
    storefront.add(token, "MUG-WHITE", 7)
    storefront.add(token, "CAP-BLACK", 1)
    session_id = token.split(".")[0]
    # When this session reads its cart with the customer's ID token
    merged = storefront.call("get_cart", token, bearer=ada.id_token)
    # Then the session is bound to the customer and the carts are merged, mugs capped at 10
    assert merged.status == 200, merged.body
    assert line_quantities(merged) == {"MUG-WHITE": 10, "CAP-BLACK": 1}
    session = storefront.item(f"SESSION#{session_id}", "SESSION")
    assert session is not None
    assert session["customerId"] == ada.sub
    # And the guest cart is emptied (a short-lived tombstone) while the customer's cart holds the lines
    guest = storefront.item(f"CART#SESSION#{session_id}", "CART")
    assert guest is not None
    assert guest["lines"] == []
    customer_cart = storefront.item(f"CART#CUSTOMER#{ada.sub}", "CART")
    assert customer_cart is not None
    assert customer_cart["lines"] == [{"sku": "MUG-WHITE", "quantity": 10}, {"sku": "CAP-BLACK", "quantity": 1}]
    # When the same request is retried, Then nothing is merged twice
    before = storefront.items()
    again = storefront.call("get_cart", token, bearer=ada.id_token)
    assert line_quantities(again) == {"MUG-WHITE": 10, "CAP-BLACK": 1}
    assert storefront.items() == before
    # And the other device sees the same cart
    assert storefront.call("get_cart", other_device, bearer=ada.access_token).body == again.body


def test_a_bound_session_keeps_addressing_the_customers_cart_without_the_jwt(
    storefront: Storefront, pool: Pool
) -> None:
    # Given a session bound to a customer by a call with the access token
    grace = sign_up(pool, "grace@example.com")
    token = storefront.new_session()
    assert storefront.add(token, SAMPLE_SKU, 1, bearer=grace.access_token).status == 200
    # When the session is used without the JWT
    answer = storefront.add(token, "CAP-BLACK", 2)
    # Then it changes the customer's cart
    assert answer.status == 200
    customer_cart = storefront.item(f"CART#CUSTOMER#{grace.sub}", "CART")
    assert customer_cart is not None
    assert customer_cart["lines"] == [{"sku": SAMPLE_SKU, "quantity": 1}, {"sku": "CAP-BLACK", "quantity": 2}]


def test_a_session_bound_to_one_customer_refuses_another_customers_jwt(storefront: Storefront, pool: Pool) -> None:
    # Given a session bound to Ada
    ada, bob = sign_up(pool, "ada2@example.com"), sign_up(pool, "bob@example.com")
    token = storefront.new_session()
    storefront.add(token, "MUG-WHITE", 1, bearer=ada.id_token)
    before = storefront.items()
    # When it is presented with Bob's token, Then every cart call is 401 and nothing is written
    for answer in (
        storefront.call("get_cart", token, bearer=bob.id_token),
        storefront.add(token, "MUG-WHITE", 1, bearer=bob.access_token),
        storefront.call("remove_cart_line", token, sku="MUG-WHITE", bearer=bob.id_token),
    ):
        assert answer.status == 401
        assert answer.code == "UNAUTHENTICATED"
    assert storefront.items() == before


def moto_signed(claims: dict[str, object]) -> str:
    """A token signed with the very key moto's user pools sign with: only its claims can make it invalid."""
    key = RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    return jwt.encode({"alg": "RS256", "kid": "dummy"}, claims, key)


def test_invalid_bearer_tokens_are_401_and_change_nothing(storefront: Storefront, pool: Pool) -> None:
    # Given a guest session with a cart, and tokens that are wrong in different ways
    ada = sign_up(pool, "ada3@example.com")
    token = storefront.new_session()
    storefront.add(token, "MUG-WHITE", 1)
    now = int(time.time())
    good_claims = {
        "iss": issuer_for("us-east-1", pool.id),
        "sub": ada.sub,
        "aud": pool.client_id,
        "token_use": "id",
        "iat": now - 7200,
        "exp": now - 3600,
    }
    header, payload, signature = ada.id_token.split(".")
    flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    bad_tokens = {
        "expired": moto_signed(good_claims),
        "other client": moto_signed({**good_claims, "exp": now + 600, "aud": "another-client"}),
        "other pool": moto_signed({**good_claims, "exp": now + 600, "iss": issuer_for("us-east-1", "us-east-1_x")}),
        "bad signature": f"{header}.{payload}.{flipped}",
        "garbage": "not.a.jwt",
    }
    before = storefront.items()
    for reason, bearer in bad_tokens.items():
        # When the session comes with it, Then it is 401 and nothing is written (no binding either)
        answer = storefront.call("get_cart", token, bearer=bearer)
        assert answer.status == 401, reason
        assert answer.code == "UNAUTHENTICATED", reason
    # And a well-signed, unexpired token of the pool would have been accepted (the key is the pool's)
    assert storefront.call("get_cart", token, bearer=moto_signed({**good_claims, "exp": now + 600})).status == 200
    assert storefront.items() != before


def test_an_unreachable_jwks_is_a_server_error_not_a_pass(
    storefront: Storefront, pool: Pool, commerce_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given functions whose JWKS endpoint does not answer (a port nothing listens on)
    ada = sign_up(pool, "ada4@example.com")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    configure(monkeypatch, USER_POOL_ID=pool.id, USER_POOL_CLIENT_ID=pool.client_id, AWS_ENDPOINT_URL_COGNITO_IDP=dead)
    shop = Storefront(commerce_table)
    token = shop.new_session()
    before = shop.items()
    # When a customer's request comes in
    answer = shop.call("get_cart", token, bearer=ada.id_token)
    # Then it is a 500 problem (never treated as a guest, never bound), and nothing was written
    assert answer.status == 500
    assert answer.code == "INTERNAL"
    assert shop.items() == before
