"""Demo data: the catalog in the item layout with stock, and demo users who sign in; seeding twice is harmless."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devcloud.demo_data import DEMO_CATALOG, DEMO_USERS, seed_catalog, seed_users
from localcloud.edge import EdgeApp
from localcloud.model import LocalApp
from localcloud.provision import provision
from localcloud.server import BackgroundServer
from localcloud.template import load_stack
from tests.localcloud.conftest import ThrowawayProject, unique_stack_name
from tests.support.template import resource

pytestmark = pytest.mark.localcloud


@pytest.fixture
def stack(throwaway_project: ThrowawayProject) -> Iterator[tuple[LocalApp, Any]]:
    """The real template's table and identity resources, provisioned behind an edge of their own."""
    for logical_id in ("CommerceTable", "UserPool", "UserPoolClient", "AdminGroup"):
        throwaway_project.resources[logical_id] = resource(logical_id)
    with BackgroundServer(EdgeApp(), name="seed-test-edge") as edge:
        app = provision(load_stack(throwaway_project.write(), stack_name=unique_stack_name()), endpoint_url=edge.url)
        session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
        yield app, lambda service: session.client(service, endpoint_url=edge.url)


def _item(dynamodb: Any, table: str, pk: str, sk: str) -> dict[str, Any]:
    return dynamodb.get_item(TableName=table, Key={"PK": {"S": pk}, "SK": {"S": sk}}, ConsistentRead=True)["Item"]


def test_the_demo_catalog_follows_the_item_layout_with_stock(stack: tuple[LocalApp, Any]) -> None:
    # Given an empty commerce table
    app, client = stack
    dynamodb, table = client("dynamodb"), app.physical_ids["CommerceTable"]

    # When the demo catalog is seeded
    added = seed_catalog(dynamodb, table)

    # Then every product is listed in the catalog index and its category index, and each SKU has its stock
    assert added == len(DEMO_CATALOG)
    listed = dynamodb.query(
        TableName=table,
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :c",
        ExpressionAttributeValues={":c": {"S": "CATALOG"}},
    )["Items"]
    assert sorted(i["name"]["S"] for i in listed) == sorted(p.name for p in DEMO_CATALOG)
    for product in DEMO_CATALOG:
        item = _item(dynamodb, table, f"PRODUCT#{product.product_id}", "PRODUCT")
        assert item["GSI1SK"]["S"] == f"{product.name.casefold()}#{product.product_id}"
        assert item["GSI2PK"]["S"] == f"CATEGORY#{product.category}"
        assert item["GSI2SK"] == item["GSI1SK"]
        assert [s["S"] for s in item["skus"]["L"]] == [v.sku for v in product.variants]
        for variant in product.variants:
            sku = _item(dynamodb, table, f"SKU#{variant.sku}", "SKU")
            assert sku["productId"]["S"] == product.product_id
            assert sku["productName"]["S"] == product.name
            assert sku["variantName"]["S"] == variant.name
            assert sku["price"]["M"] == {"amount": {"N": str(variant.price_cents)}, "currency": {"S": "EUR"}}
            assert (sku["onHand"]["N"], sku["reserved"]["N"], sku["available"]["N"]) == (
                str(variant.on_hand),
                "0",
                str(variant.on_hand),
            )
            assert sku["retired"]["BOOL"] is False


def test_seeding_the_catalog_again_changes_nothing(stack: tuple[LocalApp, Any]) -> None:
    # Given a seeded catalog where an operator then changed one SKU's stock
    app, client = stack
    dynamodb, table = client("dynamodb"), app.physical_ids["CommerceTable"]
    seed_catalog(dynamodb, table)
    sku = DEMO_CATALOG[0].variants[0].sku
    dynamodb.update_item(
        TableName=table,
        Key={"PK": {"S": f"SKU#{sku}"}, "SK": {"S": "SKU"}},
        UpdateExpression="SET onHand = :n, available = :n",
        ExpressionAttributeValues={":n": {"N": "1"}},
    )

    # When it is seeded again
    added = seed_catalog(dynamodb, table)

    # Then nothing is added and the operator's change stands
    assert added == 0
    assert _item(dynamodb, table, f"SKU#{sku}", "SKU")["onHand"] == {"N": "1"}


def test_demo_users_sign_in_with_their_passwords_and_the_operator_is_an_admin(stack: tuple[LocalApp, Any]) -> None:
    # Given the stack's user pool and app client
    app, client = stack
    cognito = client("cognito-idp")
    pool, app_client = app.physical_ids["UserPool"], app.physical_ids["UserPoolClient"]

    # When the demo users are seeded, twice
    seed_users(cognito, pool)
    listed = seed_users(cognito, pool)

    # Then each signs in with USER_PASSWORD_AUTH, and the groups are as listed
    assert listed == [u.to_json() for u in DEMO_USERS]
    for user in DEMO_USERS:
        tokens = cognito.initiate_auth(
            ClientId=app_client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user.username, "PASSWORD": user.password},
        )["AuthenticationResult"]
        assert tokens["AccessToken"]
        groups = cognito.admin_list_groups_for_user(UserPoolId=pool, Username=user.username)["Groups"]
        assert sorted(g["GroupName"] for g in groups) == sorted(user.groups)
    assert any("admin" in u.groups for u in DEMO_USERS)
    assert any(not u.groups for u in DEMO_USERS)
