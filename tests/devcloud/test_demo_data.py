"""Demo data: the catalog in the item layout with stock, and demo users who sign in; seeding twice is harmless."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devcloud.demo_data import DEMO_CATALOG, DEMO_USERS, seed_catalog, seed_users
from localcloud.cognito_gate import check_totp_codes, cognito_gate
from localcloud.edge import EdgeApp
from localcloud.model import LocalApp
from localcloud.provision import provision
from localcloud.server import BackgroundServer
from localcloud.template import load_stack
from localcloud.tokens import Login, user_token
from tests.localcloud.conftest import ThrowawayProject, unique_stack_name
from tests.support.template import resource

pytestmark = pytest.mark.localcloud


@pytest.fixture
def stack(throwaway_project: ThrowawayProject) -> Iterator[tuple[LocalApp, Any]]:
    """The real template's table and identity resources, provisioned behind an edge of their own."""
    for logical_id in (
        "CommerceTable",
        "UserPool",
        "UserPoolClient",
        "OperatorUserPool",
        "OperatorUserPoolClient",
        "AdminGroup",
    ):
        throwaway_project.resources[logical_id] = resource(logical_id)
    edge_app = EdgeApp()
    edge_app.gate(cognito_gate)  # as the local cloud's edge: MFA_SETUP, and TOTP codes checked
    check_totp_codes()
    with BackgroundServer(edge_app, name="seed-test-edge") as edge:
        app = provision(load_stack(throwaway_project.write(), stack_name=unique_stack_name()), endpoint_url=edge.url)
        app.outputs.update(AwsEndpointUrl=edge.url, Region="us-east-1")
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


def jwt_claims(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified (the test reads what Cognito put in; the API's authorizer verifies)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _pools(app: LocalApp) -> dict[str, Any]:
    ids = app.physical_ids
    return {
        **app.outputs,
        "UserPoolId": ids["UserPool"],
        "UserPoolClientId": ids["UserPoolClient"],
        "OperatorUserPoolId": ids["OperatorUserPool"],
        "OperatorUserPoolClientId": ids["OperatorUserPoolClient"],
    }


def test_demo_users_sign_in_in_their_own_pools_and_the_operator_with_totp(stack: tuple[LocalApp, Any]) -> None:
    # Given the stack's two user pools (the operators' requiring TOTP) and their app clients
    app, client = stack
    cognito = client("cognito-idp")
    outputs = _pools(app)

    # When the demo users are seeded, twice
    seed_users(cognito, outputs)
    listed = seed_users(cognito, outputs)
    outputs["DemoUsers"] = listed

    # Then each is listed with the app client of their pool, and only the operator has a TOTP secret
    by_name = {u["username"]: u for u in listed}
    assert [u["username"] for u in listed] == [u.username for u in DEMO_USERS]
    assert by_name["operator"]["clientId"] == outputs["OperatorUserPoolClientId"]
    assert by_name["customer"]["clientId"] == outputs["UserPoolClientId"]
    assert by_name["operator"]["totpSecret"]
    assert by_name["customer"]["totpSecret"] is None
    # and each signs in as a client does (the operator answering Cognito's TOTP challenge), in their groups
    for user in DEMO_USERS:
        claims = jwt_claims(user_token(outputs, Login.of(outputs, user.username)))
        assert claims["cognito:username"] == user.username
        assert claims["iss"].endswith("/" + outputs[user.pool[0]])
        assert sorted(claims.get("cognito:groups", [])) == sorted(user.groups)
    # And the password alone gives the operator no token: Cognito asks for the code
    operator = next(u for u in DEMO_USERS if "admin" in u.groups)
    challenge = cognito.initiate_auth(
        ClientId=outputs["OperatorUserPoolClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": operator.username, "PASSWORD": operator.password},
    )
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    assert "AuthenticationResult" not in challenge
    # and neither user exists in the other's pool
    operators = {u["Username"] for u in cognito.list_users(UserPoolId=outputs["OperatorUserPoolId"])["Users"]}
    customers = {u["Username"] for u in cognito.list_users(UserPoolId=outputs["UserPoolId"])["Users"]}
    assert (operators, customers) == ({"operator"}, {"customer"})
