"""Who may see which orders (session, customer, both), the listing's query parameters, and the JSON shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from commerce.api.pagination import PageQuery, decode_cursor, encode_cursor
from commerce.domain.errors import ErrorCode, Unauthenticated, ValidationFailed
from commerce.domain.orders.models import OrderOwner, OrderPosition, OrderStatus, new_order_id
from commerce.domain.orders.owners import identify_owner
from commerce.domain.orders.schemas import OrderSearchFilters
from commerce.domain.orders.views import Audience, order_json
from commerce.domain.sessions.models import Session
from commerce.domain.sessions.tokens import issue_token
from tests.support.orders import T0, new_order

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


class Customers:
    """A verifier that knows one valid bearer token per customer."""

    def __init__(self, **tokens: str) -> None:
        self.tokens = tokens

    def customer_id(self, token: str) -> str:
        if token not in self.tokens:
            raise Unauthenticated("bad token")
        return self.tokens[token]


def stored_session(customer_id: str | None = None, expired: bool = False) -> tuple[str, dict[str, Session]]:
    token = issue_token()
    expires = NOW - timedelta(minutes=1) if expired else NOW + timedelta(days=7)
    session = Session(token.session_id, token.hash, NOW - timedelta(days=1), expires, customer_id)
    return token.value, {token.session_id: session}


def test_a_guest_session_owns_its_orders() -> None:
    # Given a valid guest session token and no JWT, Then the owner is the session
    token, sessions = stored_session()
    owner = identify_owner(token, None, sessions.get, Customers(), NOW)
    assert owner == OrderOwner(session_id=next(iter(sessions)))


def test_a_customer_without_a_session_owns_their_orders() -> None:
    owner = identify_owner(None, "Bearer jwt-1", lambda session_id: None, Customers(**{"jwt-1": "cust-1"}), NOW)
    assert owner == OrderOwner(customer_id="cust-1")


def test_a_session_bound_to_a_customer_speaks_for_them() -> None:
    # Given a session bound to cust-1 presented without a JWT (as the cart accepts it)
    token, sessions = stored_session(customer_id="cust-1")
    # Then the session's and the customer's orders are the caller's
    owner = identify_owner(token, None, sessions.get, Customers(), NOW)
    assert owner == OrderOwner(session_id=next(iter(sessions)), customer_id="cust-1")


@pytest.mark.parametrize(
    ("token_kind", "authorization"),
    [
        ("none", None),  # no credentials at all
        ("malformed", None),
        ("unknown", None),
        ("expired", None),
        ("none", "Bearer forged"),
        ("none", "Basic dXNlcjpwYXNz"),
        ("none", "Bearer "),
        ("other-customer", "Bearer jwt-2"),  # a session of cust-1 with the JWT of cust-2
    ],
)
def test_no_or_invalid_credentials_are_401(token_kind: str, authorization: str | None) -> None:
    token, sessions = stored_session(customer_id="cust-1", expired=token_kind == "expired")
    presented = {
        "none": None,
        "malformed": "not-a-token",
        "unknown": issue_token().value,
        "expired": token,
        "other-customer": token,
    }[token_kind]
    with pytest.raises(Unauthenticated) as refused:
        identify_owner(presented, authorization, sessions.get, Customers(**{"jwt-2": "cust-2"}), NOW)
    assert refused.value.code is ErrorCode.UNAUTHENTICATED


# ---------------------------------------------------------------------------------------------- query parameters


class Query(PageQuery, OrderSearchFilters):
    pass


def test_filters_parse_from_query_strings() -> None:
    query = Query.model_validate(
        {
            "status": "PAID",
            "email": " Ann@Example.com ",
            "createdFrom": "2026-03-01T12:00:00.000100+01:00",
            "createdTo": "2026-03-02T00:00:00Z",
            "limit": "50",
        }
    )
    criteria = query.criteria()
    assert criteria.status is OrderStatus.PAID
    assert criteria.email == "Ann@Example.com"
    # A bound finer than a millisecond rounds up to one: orders are stored to the millisecond.
    assert criteria.created_from == datetime(2026, 3, 1, 11, 0, 0, 1000, tzinfo=UTC)
    assert criteria.created_to == datetime(2026, 3, 2, tzinfo=UTC)
    assert query.limit == 50


def test_blank_filters_are_absent() -> None:
    assert Query.model_validate({"email": "", "status": " "}).criteria() == Query().criteria()


@pytest.mark.parametrize(
    "params",
    [
        {"status": "SHIPPED"},
        {"status": "paid"},
        {"email": "nobody"},
        {"createdFrom": "yesterday"},
        {"createdFrom": "2026-03-01T12:00:00"},  # no offset: ambiguous
        {"createdFrom": "2026-03-02T00:00:00Z", "createdTo": "2026-03-01T00:00:00Z"},
        # No instant in UTC (regression: OverflowError, a 500): before year 1, after 9999, after 9999 once rounded
        {"createdFrom": "0001-01-01T00:00:00+14:00"},
        {"createdTo": "9999-12-31T23:59:59-14:00"},
        {"createdTo": "9999-12-31T23:59:59.9999Z"},
        {"created_from": "2026-03-01T00:00:00Z"},  # only the contract's names
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"sort": "asc"},
    ],
)
def test_bad_query_parameters_are_rejected(params: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Query.model_validate(params)


def test_the_widest_time_range_is_a_valid_search() -> None:
    query = Query.model_validate({"createdFrom": "0001-01-01T00:00:00Z", "createdTo": "9999-12-31T23:59:59.999Z"})
    criteria = query.criteria()
    assert criteria.created_from == datetime(1, 1, 1, tzinfo=UTC)
    assert criteria.created_to == datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    assert query.cursor_scope()


def test_cursors_are_bound_to_their_filters() -> None:
    # Given a cursor issued for status=PAID
    paid = Query.model_validate({"status": "PAID"})
    position = OrderPosition(T0, new_order_id())
    cursor = encode_cursor(position.to_fields(), paid.cursor_scope())
    # Then it names the same position for the same filters, and is refused for other filters
    assert OrderPosition.from_fields(decode_cursor(cursor, paid.cursor_scope())) == position
    with pytest.raises(ValidationFailed):
        decode_cursor(cursor, Query.model_validate({"status": "FULFILLED"}).cursor_scope())


@pytest.mark.parametrize(
    "fields",
    [
        {"t": "2026-03-01T12:00:00+00:00"},
        {"t": "2026-03-01T12:00:00+00:00", "id": "nope"},
        {"t": "soon", "id": new_order_id()},
        {"t": "2026-03-01T12:00:00", "id": new_order_id()},
        {"t": "2026-03-01T12:00:00+00:00", "id": new_order_id(), "x": "1"},
        # Regressions (500s): no instant in UTC, and finer than the millisecond orders are stored to
        {"t": "0001-01-01T00:00:00+14:00", "id": new_order_id()},
        {"t": "9999-12-31T23:59:59-14:00", "id": new_order_id()},
        {"t": "2026-03-01T12:00:00.000001+00:00", "id": new_order_id()},
    ],
)
def test_positions_that_cannot_be_are_invalid_cursors(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationFailed) as refused:
        OrderPosition.from_fields(fields)
    assert refused.value.errors[0].field == "cursor"


# ---------------------------------------------------------------------------------------------- JSON


def test_order_json_matches_the_contract() -> None:
    # Given an order
    order = new_order(session_id="s-1").as_order()
    # When rendered for the customer and for an operator
    mine, theirs = order_json(order, Audience.CUSTOMER), order_json(order, Audience.OPERATOR)
    # Then it has the contract's fields, money as minor units, lines as cart lines, RFC 3339 times
    assert set(mine) == {
        "orderId", "status", "email", "lines", "subtotal", "total", "shippingAddress", "createdAt", "updatedAt",
        "fulfillments", "events",
    }  # fmt: skip
    assert mine["fulfillments"] == []
    assert mine["subtotal"] == {"amount": 3900, "currency": "EUR"}
    assert mine["lines"][0] == {
        "sku": "TSHIRT-RED-M",
        "productId": "p-tshirt",
        "name": "Organic T-Shirt, Red / M",
        "quantity": 2,
        "unitPrice": {"amount": 1500, "currency": "EUR"},
        "lineTotal": {"amount": 3000, "currency": "EUR"},
    }
    assert mine["createdAt"] == "2026-03-01T12:00:00.000Z"
    assert mine["shippingAddress"] == {
        "name": "Ada Lovelace", "line1": "12 Analytical St", "city": "London", "postalCode": "N1 9GU", "country": "GB"
    }  # fmt: skip
    # And only operators see who did what
    assert mine["events"] == [
        {
            "type": "OrderCreated",
            "at": "2026-03-01T12:00:00.000Z",
            "detail": {"checkoutId": order.checkout_id, "toStatus": "PENDING_PAYMENT"},
        }
    ]
    assert theirs["events"][0]["detail"]["actor"] == "checkout"
