"""The six order endpoints, called the way API Gateway calls them (events/ samples), against the orders database
through the local Data API, sessions in (moto) DynamoDB and customers' real Cognito tokens.

Every refused request answers problem+json with its stable code, and changes nothing.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
import pytest
import yaml
from jsonschema import Draft202012Validator

from commerce.adapters.dynamodb.client import dynamodb_client
from commerce.adapters.dynamodb.sessions import DynamoSessionRepository
from commerce.adapters.orders_db.client import rds_data_client
from commerce.api.pagination import encode_cursor
from commerce.domain.orders.models import Order
from commerce.domain.orders.schemas import OrderSearchFilters
from commerce.domain.orders.service import create_order, mark_order_paid
from commerce.domain.sessions.models import SessionPolicy
from commerce.domain.sessions.service import create_session
from commerce.settings import load_settings
from tests.support.handlers import load_handler
from tests.support.lambda_events import FakeLambdaContext, http_event
from tests.support.orders import T0, minutes, new_order
from tests.support.orders_db import CLUSTER_ARN, READER_SECRET_ARN, SECRET_ARN, OrdersCloud, orders_cloud
from tests.support.template import ROOT

pytestmark = pytest.mark.integration

FUNCTIONS = (
    "list_orders",
    "get_order",
    "admin_list_orders",
    "admin_get_order",
    "fulfill_order",
    "create_fulfillment",
    "cancel_order",
)
# As template.yaml gives them: the readers log in as commerce_reader (OrdersDbReaderSecret), the rest as the master.
READERS = {"list_orders", "get_order", "admin_list_orders", "admin_get_order"}
OPERATOR = {"sub": "op-7d8e9f10", "cognito:groups": "[admin]", "token_use": "access", "username": "operator"}
CUSTOMER_CLAIMS = {"sub": "c-1a2b3c", "cognito:groups": "[customers]", "token_use": "access"}
PASSWORD = "Correct-Horse-42"


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


class Shop:
    def __init__(self, cloud: OrdersCloud, database: str, table: str, pool_id: str, client_id: str) -> None:
        self.cloud = cloud
        self.database = database
        self.repository = cloud.repository(database)
        self.table = table
        self.pool_id = pool_id
        self.client_id = client_id
        self.handlers = {}
        for name in FUNCTIONS:
            # Settings are read at import; the fixture's monkeypatch restores the variable afterwards.
            os.environ["ORDERS_DB_SECRET_ARN"] = READER_SECRET_ARN if name in READERS else SECRET_ARN
            load_settings.cache_clear()
            self.handlers[name] = load_handler(name, fresh=True)

    def call(
        self,
        function: str,
        *,
        order_id: str | None = None,
        token: str | None = None,
        bearer: str | None = None,
        query: dict[str, str] | None = None,
        claims: dict[str, Any] | None = OPERATOR,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        event = http_event(function, query=query if query is not None else {})
        event["headers"].pop("idempotency-key", None)
        event["headers"].update(headers or {})
        if body is not None:
            event["body"] = body if isinstance(body, str) else json.dumps(body)
        event["headers"].pop("x-session-token", None)
        event["headers"].pop("authorization", None)
        if token is not None:
            event["headers"]["x-session-token"] = token
        if bearer is not None:
            event["headers"]["authorization"] = f"Bearer {bearer}"
        if order_id is not None and "pathParameters" in event:
            path = event["rawPath"].replace(event["pathParameters"]["orderId"], order_id)
            event["rawPath"] = event["requestContext"]["http"]["path"] = path
            event["pathParameters"] = {"orderId": order_id}
        if function.startswith(("admin_", "fulfill", "create_fulfillment", "cancel")):
            if claims is None:
                event["requestContext"].pop("authorizer", None)
            else:
                event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        response = self.handlers[function](event, FakeLambdaContext())
        assert response["headers"]["X-Request-Id"] == event["requestContext"]["requestId"]
        return Answer(response["statusCode"], json.loads(response["body"] or "null"), response["headers"])

    def session(self) -> tuple[str, str]:
        """A new guest session: (token, session id)."""
        created = create_session(DynamoSessionRepository(self.table), SessionPolicy.days(7))
        return created.token.value, created.session.session_id

    def order(self, **kwargs: Any) -> Order:
        return create_order(self.repository, new_order(**kwargs))

    def paid(self, **kwargs: Any) -> Order:
        return mark_order_paid(self.repository, self.order(**kwargs).order_id, {"intentId": "pi_1"})

    def state(self) -> tuple[Any, ...]:
        """A fingerprint of every order and event: equal before and after means nothing changed."""
        with self.cloud.sql(self.database) as sql:
            row = sql.execute(
                "SELECT (SELECT md5(string_agg(order_id::text || status || updated_at::text, ',' ORDER BY order_id))"
                " FROM orders), (SELECT count(*) FROM order_events), (SELECT max(event_id) FROM order_events)"
            ).fetchone()
        return tuple(row or ())

    def customer(self, username: str) -> tuple[str, str]:
        """A confirmed Cognito user of the pool: (sub, access token), obtained as a storefront obtains it."""
        cognito = boto3.client("cognito-idp", region_name="us-east-1")
        cognito.admin_create_user(UserPoolId=self.pool_id, Username=username, MessageAction="SUPPRESS")
        cognito.admin_set_user_password(UserPoolId=self.pool_id, Username=username, Password=PASSWORD, Permanent=True)
        tokens = cognito.initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        attributes = cognito.get_user(AccessToken=tokens["AccessToken"])["UserAttributes"]
        return next(a["Value"] for a in attributes if a["Name"] == "sub"), tokens["AccessToken"]


@pytest.fixture(scope="module")
def orders_database() -> tuple[OrdersCloud, str]:
    cloud = orders_cloud()
    return cloud, cloud.migrated_database("handlers")


@pytest.fixture
def shop(commerce_table: str, orders_database: tuple[OrdersCloud, str], monkeypatch: pytest.MonkeyPatch) -> Shop:
    cloud, database = orders_database
    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    pool_id = cognito.create_user_pool(PoolName=f"shoppers-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="storefront", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    env = {
        "AWS_REGION": "us-east-1",
        "USER_POOL_ID": pool_id,
        "USER_POOL_CLIENT_ID": client_id,
        "ORDERS_DB_CLUSTER_ARN": CLUSTER_ARN,
        "ORDERS_DB_SECRET_ARN": SECRET_ARN,
        "ORDERS_DB_NAME": database,
        # rds-data reaches the local Data API; the JWKS comes from the same edge (moto's Cognito behind it).
        "AWS_ENDPOINT_URL_RDS_DATA": cloud.url,
        "AWS_ENDPOINT_URL_COGNITO_IDP": cloud.url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    load_settings.cache_clear()
    rds_data_client.cache_clear()
    dynamodb_client.cache_clear()
    return Shop(cloud, database, commerce_table, pool_id, client_id)


@cache
def openapi_components() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "openapi.yaml").read_text())["components"])


def conforms(body: Any, schema: str) -> None:
    """`body` is valid against openapi.yaml's components/schemas/`schema` (JSON Schema 2020-12, as OpenAPI 3.1)."""
    validator = Draft202012Validator({"$ref": f"#/components/schemas/{schema}", "components": openapi_components()})
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert errors == [], errors


def problem(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status, answer.body
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.code == code
    conforms(answer.body, "Problem")


# ---------------------------------------------------------------------------------------------- storefront


def test_a_guest_lists_and_reads_only_their_own_orders(shop: Shop) -> None:
    # Given two orders of this guest session and one of another session
    token, session_id = shop.session()
    older = shop.order(session_id=session_id, created_at=T0)
    newer = shop.paid(session_id=session_id, created_at=T0 + minutes(5))
    _, other_session = shop.session()
    theirs = shop.order(session_id=other_session)
    # When the guest lists their orders
    listed = shop.call("list_orders", token=token)
    # Then both come, newest first, in the contract's shape, without operator ids in the history
    assert listed.status == 200, listed.body
    conforms(listed.body, "OrderList")
    assert [o["orderId"] for o in listed.body["items"]] == [newer.order_id, older.order_id]
    assert listed.body["nextCursor"] is None
    first = listed.body["items"][0]
    assert first["status"] == "PAID"
    assert first["total"] == {"amount": 3900, "currency": "EUR"}
    assert [e["type"] for e in first["events"]] == ["OrderCreated", "PaymentSucceeded"]
    assert all("actor" not in e["detail"] for e in first["events"])
    # And reads one of them, while someone else's answers 404 exactly as a missing one
    assert shop.call("get_order", order_id=older.order_id, token=token).body["orderId"] == older.order_id
    problem(shop.call("get_order", order_id=theirs.order_id, token=token), 404, "NOT_FOUND")
    problem(shop.call("get_order", order_id=str(uuid.uuid4()), token=token), 404, "NOT_FOUND")
    problem(shop.call("get_order", order_id="not-an-order", token=token), 404, "NOT_FOUND")


def test_a_guest_pages_through_their_orders(shop: Shop) -> None:
    # Given three orders of one session
    token, session_id = shop.session()
    ids = [shop.order(session_id=session_id, created_at=T0 + minutes(i)).order_id for i in range(3)]
    # When they are listed one at a time, following nextCursor
    seen, cursor = [], None
    for _ in range(3):
        query = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        page = shop.call("list_orders", token=token, query=query)
        assert page.status == 200, page.body
        seen += [o["orderId"] for o in page.body["items"]]
        cursor = page.body["nextCursor"]
    # Then all three came once, newest first, and the last page says so
    assert seen == ids[::-1]
    assert cursor is None
    # And another session cannot use this session's cursor
    other, _ = shop.session()
    first = shop.call("list_orders", token=token, query={"limit": "1"}).body["nextCursor"]
    problem(shop.call("list_orders", token=other, query={"cursor": first}), 400, "VALIDATION_ERROR")


def test_a_customer_sees_their_orders_with_their_cognito_token(shop: Shop) -> None:
    # Given a customer with an order placed while signed in, and a stranger
    sub, access_token = shop.customer("ada@example.com")
    mine = shop.order(customer_id=sub)
    shop.order(customer_id="someone-else")
    # When the customer lists and reads with the JWT alone (no session)
    listed = shop.call("list_orders", bearer=access_token)
    # Then they get their order
    assert listed.status == 200, listed.body
    assert [o["orderId"] for o in listed.body["items"]] == [mine.order_id]
    assert shop.call("get_order", order_id=mine.order_id, bearer=access_token).status == 200
    # And a forged token is 401
    problem(shop.call("list_orders", bearer=access_token[:-4] + "AAAA"), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    ("token", "query", "status", "code"),
    [
        (None, {}, 401, "UNAUTHENTICATED"),
        ("not-a-session-token", {}, 401, "UNAUTHENTICATED"),
        ("AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", {}, 401, "UNAUTHENTICATED"),
        ("valid", {"limit": "0"}, 400, "VALIDATION_ERROR"),
        ("valid", {"limit": "101"}, 400, "VALIDATION_ERROR"),
        ("valid", {"limit": "2.5"}, 400, "VALIDATION_ERROR"),
        ("valid", {"status": "PAID"}, 400, "VALIDATION_ERROR"),  # not a storefront filter
        ("valid", {"cursor": "garbage"}, 400, "VALIDATION_ERROR"),
    ],
)
def test_bad_storefront_listings_are_refused(
    shop: Shop, token: str | None, query: dict[str, str], status: int, code: str
) -> None:
    # Given a guest with an order
    valid, session_id = shop.session()
    shop.order(session_id=session_id)
    before = shop.state()
    # When the listing is asked for without valid credentials or with bad parameters, Then 401/400, nothing changed
    answer = shop.call("list_orders", token=valid if token == "valid" else token, query=query)
    problem(answer, status, code)
    assert shop.state() == before


@pytest.mark.parametrize(
    ("token", "bearer"),
    [
        (None, None),
        ("not-a-session-token", None),
        ("AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", None),
        (None, "not.a.jwt"),
    ],
)
def test_reading_an_order_needs_valid_credentials(shop: Shop, token: str | None, bearer: str | None) -> None:
    # Given a guest's order, When it is read without valid credentials, Then 401 and nothing of it is shown
    _, session_id = shop.session()
    order = shop.order(session_id=session_id)
    answer = shop.call("get_order", order_id=order.order_id, token=token, bearer=bearer)
    problem(answer, 401, "UNAUTHENTICATED")
    assert order.order_id not in json.dumps(answer.body)


# ---------------------------------------------------------------------------------------------- operators


def test_an_operator_searches_orders_by_email_and_status_page_by_page(shop: Shop) -> None:
    # Given four orders of one shopper, two of them paid
    email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    pending = [shop.order(email=email, created_at=T0 + minutes(i)) for i in range(2)]
    paid = [shop.paid(email=email, created_at=T0 + minutes(10 + i)) for i in range(2)]
    # When an operator lists the shopper's PAID orders one per page
    first = shop.call("admin_list_orders", query={"email": email.upper(), "status": "PAID", "limit": "1"})
    assert first.status == 200, first.body
    conforms(first.body, "OrderList")
    second = shop.call(
        "admin_list_orders",
        query={"email": email.upper(), "status": "PAID", "limit": "1", "cursor": first.body["nextCursor"]},
    )
    # Then the pages hold the paid orders, newest first, with operators' event details
    assert [o["orderId"] for o in first.body["items"] + second.body["items"]] == [p.order_id for p in paid[::-1]]
    assert second.body["nextCursor"] is None
    assert first.body["items"][0]["events"][-1]["detail"]["actor"] == "payments"
    # And a time range narrows it (createdTo exclusive)
    ranged = shop.call(
        "admin_list_orders",
        query={"email": email, "createdFrom": "2026-03-01T12:00:00Z", "createdTo": "2026-03-01T12:01:00.000Z"},
    )
    assert [o["orderId"] for o in ranged.body["items"]] == [pending[0].order_id]


@pytest.mark.parametrize(
    "query",
    [
        {"status": "SHIPPED"},
        {"email": "not-an-email"},
        {"createdFrom": "2026-03-01"},
        {"createdFrom": "2026-03-01T12:00:00"},
        {"createdFrom": "2026-03-02T00:00:00Z", "createdTo": "2026-03-01T00:00:00Z"},
        {"limit": "0"},
        {"sort": "oldest"},
        {"cursor": "eyJ0IjoiMjAyNiJ9.AAAA"},
    ],
)
def test_bad_searches_are_400(shop: Shop, query: dict[str, str]) -> None:
    problem(shop.call("admin_list_orders", query=query), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "bound",
    [
        "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-14:00",  # after 9999 in UTC
        "9999-12-31T23:59:59.9999Z",  # after 9999 once rounded up to the millisecond
    ],
)
@pytest.mark.parametrize("name", ["createdFrom", "createdTo"])
def test_time_bounds_with_no_instant_in_utc_are_400(shop: Shop, name: str, bound: str) -> None:
    # Regression: these parsed, then overflowed converting to UTC: 500 INTERNAL.
    problem(shop.call("admin_list_orders", query={name: bound}), 400, "VALIDATION_ERROR")


def test_time_bounds_before_year_1000_reach_the_database(shop: Shop) -> None:
    # Regression: year 1 went to the Data API as "1-01-01 ..." (strftime does not pad it), which it refuses: 500.
    order = shop.order(email=f"buyer-{uuid.uuid4().hex[:8]}@example.com")
    bounds = {"createdFrom": "0001-01-01T00:00:00Z", "createdTo": "9999-12-31T23:59:59.999Z"}
    answer = shop.call("admin_list_orders", query={"email": order.email, **bounds})
    assert answer.status == 200, answer.body
    assert [o["orderId"] for o in answer.body["items"]] == [order.order_id]


def forged_cursors(shop: Shop, moment: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Cursors naming (`moment`, some order id) for both order listings, with a correct MAC: the MAC is not a
    secret (commerce.api.pagination), so any client can wrap any position in a cursor the listing accepts."""
    token, session_id = shop.session()
    position = {"t": moment, "id": str(uuid.uuid4())}
    return {
        "admin_list_orders": ("", {"cursor": encode_cursor(position, OrderSearchFilters().cursor_scope()) or ""}),
        "list_orders": (token, {"cursor": encode_cursor(position, f"orders\x1f{session_id}\x1f") or ""}),
    }


@pytest.mark.parametrize("function", ["admin_list_orders", "list_orders"])
@pytest.mark.parametrize(
    "moment",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-03-01T12:00:00.000001+00:00"],
    ids=["before-year-1-in-utc", "after-9999-in-utc", "finer-than-stored"],
)
def test_forged_cursors_naming_impossible_positions_are_400(shop: Shop, function: str, moment: str) -> None:
    # Regression: no order can sit there; these overflowed converting to UTC, or were refused by the
    # timestamp encoder, both as 500 INTERNAL.
    token, query = forged_cursors(shop, moment)[function]
    problem(shop.call(function, token=token or None, query=query), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("function", ["admin_list_orders", "list_orders"])
def test_a_forged_cursor_before_year_1000_is_an_empty_page(shop: Shop, function: str) -> None:
    # Regression: year 1 went to the Data API as "1-01-01 ..." (glibc's strftime does not pad it): 500 INTERNAL.
    token, query = forged_cursors(shop, "0001-01-01T00:00:00+00:00")[function]
    answer = shop.call(function, token=token or None, query=query)
    assert answer.status == 200, answer.body
    assert answer.body == {"items": [], "nextCursor": None}


def test_a_cursor_is_only_good_for_its_own_filters(shop: Shop) -> None:
    email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    for i in range(2):
        shop.order(email=email, created_at=T0 + minutes(i))
    cursor = shop.call("admin_list_orders", query={"email": email, "limit": "1"}).body["nextCursor"]
    problem(shop.call("admin_list_orders", query={"status": "PAID", "cursor": cursor}), 400, "VALIDATION_ERROR")


def test_an_operator_reads_any_order_with_its_history(shop: Shop) -> None:
    order = shop.paid()
    answer = shop.call("admin_get_order", order_id=order.order_id)
    assert answer.status == 200, answer.body
    conforms(answer.body, "Order")
    assert [(e["type"], e["detail"]["actor"]) for e in answer.body["events"]] == [
        ("OrderCreated", "checkout"),
        ("PaymentSucceeded", "payments"),
    ]
    problem(shop.call("admin_get_order", order_id=str(uuid.uuid4())), 404, "NOT_FOUND")


def test_fulfil_then_fulfil_again(shop: Shop) -> None:
    # Given a paid order
    order = shop.paid()
    # When an operator fulfils it
    done = shop.call("fulfill_order", order_id=order.order_id)
    # Then it is FULFILLED and the history names the operator
    assert done.status == 200, done.body
    conforms(done.body, "Order")
    assert done.body["status"] == "FULFILLED"
    assert done.body["events"][-1]["type"] == "OrderFulfilled"
    (fulfilment,) = done.body["fulfillments"]
    assert fulfilment["lines"] == [{"sku": line["sku"], "quantity": line["quantity"]} for line in done.body["lines"]]
    assert done.body["events"][-1]["detail"] == {
        "fulfillmentId": fulfilment["fulfillmentId"],
        "lines": fulfilment["lines"],
        "fromStatus": "PAID",
        "toStatus": "FULFILLED",
        "actor": "operator:op-7d8e9f10",
    }
    assert shop.call("admin_get_order", order_id=order.order_id).body == done.body
    # When it is fulfilled again, Then 409 INVALID_TRANSITION and nothing changes
    before = shop.state()
    problem(shop.call("fulfill_order", order_id=order.order_id), 409, "INVALID_TRANSITION")
    assert shop.state() == before


def test_ship_part_of_an_order_then_the_rest(shop: Shop) -> None:
    # Given a paid order of 2 shirts and a mug
    order = shop.paid()
    # When an operator ships one shirt with a carrier and a tracking number
    shipped = shop.call(
        "create_fulfillment",
        order_id=order.order_id,
        body={"lines": [{"sku": "TSHIRT-RED-M", "quantity": 1}], "carrier": "DHL", "trackingNumber": "JD01"},
    )
    # Then 201 with the fulfilment and the order PARTIALLY_FULFILLED, which the order shows
    assert shipped.status == 201, shipped.body
    conforms(shipped.body, "CreatedFulfillment")
    assert (shipped.body["status"], shipped.body["carrier"], shipped.body["trackingNumber"]) == (
        "PARTIALLY_FULFILLED",
        "DHL",
        "JD01",
    )
    read = shop.call("admin_get_order", order_id=order.order_id).body
    conforms(read, "Order")
    assert [f["fulfillmentId"] for f in read["fulfillments"]] == [shipped.body["fulfillmentId"]]
    assert read["events"][-1]["type"] == "OrderPartiallyFulfilled"
    # When the rest is fulfilled, Then FULFILLED with a second fulfilment of what was left
    rest = shop.call("fulfill_order", order_id=order.order_id)
    assert rest.body["status"] == "FULFILLED"
    assert rest.body["fulfillments"][-1]["lines"] == [
        {"sku": "TSHIRT-RED-M", "quantity": 1},
        {"sku": "MUG-WHT", "quantity": 1},
    ]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"lines": [{"sku": "TSHIRT-RED-M", "quantity": 3}]}, 409, "OVER_FULFILLED"),
        ({"lines": [{"sku": "CAP-1", "quantity": 1}]}, 409, "OVER_FULFILLED"),
        ({"lines": []}, 400, "VALIDATION_ERROR"),
        ({"lines": [{"sku": "MUG-WHT", "quantity": 0}]}, 400, "VALIDATION_ERROR"),
        ({"lines": [{"sku": "MUG-WHT", "quantity": "1"}]}, 400, "VALIDATION_ERROR"),
        ({"lines": [{"sku": "MUG-WHT", "quantity": 1}, {"sku": "MUG-WHT", "quantity": 1}]}, 409, "OVER_FULFILLED"),
        ({"lines": [{"sku": "MUG-WHT", "quantity": 1}], "status": "FULFILLED"}, 400, "VALIDATION_ERROR"),
        ({"lines": [{"sku": "MUG-WHT", "quantity": 1}], "carrier": ""}, 400, "VALIDATION_ERROR"),
        ("[" * 5000, 400, "VALIDATION_ERROR"),
        ("not json", 400, "VALIDATION_ERROR"),
    ],
)
def test_a_fulfilment_that_cannot_ship_is_refused_and_changes_nothing(
    shop: Shop, body: Any, status: int, code: str
) -> None:
    order = shop.paid()
    before = shop.state()
    problem(shop.call("create_fulfillment", order_id=order.order_id, body=body), status, code)
    assert shop.state() == before


def test_a_sku_listed_twice_ships_the_sum_and_a_blank_key_is_refused(shop: Shop) -> None:
    order = shop.paid()
    twice = {"lines": [{"sku": "TSHIRT-RED-M", "quantity": 1}, {"sku": "TSHIRT-RED-M", "quantity": 1}]}
    before = shop.state()
    problem(
        shop.call("create_fulfillment", order_id=order.order_id, body=twice, headers={"idempotency-key": " "}),
        400,
        "VALIDATION_ERROR",
    )
    assert shop.state() == before
    shipped = shop.call("create_fulfillment", order_id=order.order_id, body=twice)
    assert shipped.status == 201, shipped.body
    assert shipped.body["lines"] == [{"sku": "TSHIRT-RED-M", "quantity": 2}]


def test_a_fulfilment_of_an_unpaid_order_is_an_invalid_transition(shop: Shop) -> None:
    order = shop.order()
    before = shop.state()
    body = {"lines": [{"sku": "MUG-WHT", "quantity": 1}]}
    problem(shop.call("create_fulfillment", order_id=order.order_id, body=body), 409, "INVALID_TRANSITION")
    assert shop.state() == before


def test_a_retried_fulfilment_with_its_key_ships_nothing_twice(shop: Shop) -> None:
    # Given a fulfilment made with an Idempotency-Key
    order = shop.paid()
    body, key = {"lines": [{"sku": "MUG-WHT", "quantity": 1}]}, {"idempotency-key": "f-7c1e"}
    first = shop.call("create_fulfillment", order_id=order.order_id, body=body, headers=key)
    assert first.status == 201, first.body
    before = shop.state()
    # When the same request is sent again, Then the same fulfilment answers and nothing is written
    again = shop.call("create_fulfillment", order_id=order.order_id, body=body, headers=key)
    assert (again.status, again.body) == (201, first.body)
    assert shop.state() == before
    # When the key comes with other lines, Then 422 IDEMPOTENCY_KEY_REUSED, nothing written
    other = {"lines": [{"sku": "TSHIRT-RED-M", "quantity": 1}]}
    problem(
        shop.call("create_fulfillment", order_id=order.order_id, body=other, headers=key), 422, "IDEMPOTENCY_KEY_REUSED"
    )
    assert shop.state() == before


def test_cancel_an_unpaid_order_but_not_a_paid_one(shop: Shop) -> None:
    # Given an unpaid and a paid order
    unpaid, paid = shop.order(), shop.paid()
    # When an operator cancels both
    cancelled = shop.call("cancel_order", order_id=unpaid.order_id)
    before = shop.state()
    refused = shop.call("cancel_order", order_id=paid.order_id)
    # Then the unpaid one is CANCELLED, and the paid one is refused (a refund is the checkout's job) untouched
    assert cancelled.status == 200, cancelled.body
    assert cancelled.body["status"] == "CANCELLED"
    problem(refused, 409, "INVALID_TRANSITION")
    assert shop.state() == before


@pytest.mark.parametrize(
    "function", ["admin_list_orders", "admin_get_order", "fulfill_order", "create_fulfillment", "cancel_order"]
)
@pytest.mark.parametrize(
    ("claims", "status", "code"), [(None, 401, "UNAUTHENTICATED"), (CUSTOMER_CLAIMS, 403, "FORBIDDEN")]
)
def test_only_operators_reach_admin_endpoints(
    shop: Shop, function: str, claims: dict[str, Any] | None, status: int, code: str
) -> None:
    # Given an unpaid order, When a non-operator calls an admin endpoint on it, Then 401/403 and nothing changes
    order = shop.order()
    before = shop.state()
    problem(shop.call(function, order_id=order.order_id, claims=claims), status, code)
    assert shop.state() == before


@pytest.mark.parametrize("function", ["fulfill_order", "create_fulfillment", "cancel_order"])
@pytest.mark.parametrize("order_id", ["nope", "00000000-0000-4000-8000-000000000000", "%27%3B--"])
def test_transitions_of_unknown_orders_are_404(shop: Shop, function: str, order_id: str) -> None:
    before = shop.state()
    problem(shop.call(function, order_id=order_id), 404, "NOT_FOUND")
    assert shop.state() == before
