"""DELETE /sessions/current against moto: the token never works again; an absolute lifetime caps the sliding one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from commerce.domain.sessions.models import Session, SessionPolicy
from tests.support.carts import NO_TOKEN, Storefront, configure

pytestmark = pytest.mark.integration


@pytest.fixture
def storefront(commerce_table: str, monkeypatch: pytest.MonkeyPatch) -> Storefront:
    configure(monkeypatch)
    return Storefront(commerce_table)


def test_a_revoked_token_never_works_again(storefront: Storefront) -> None:
    # Given a session whose token reads its cart
    token = storefront.new_session()
    assert storefront.call("get_cart", token).status == 200
    # When the session is deleted, Then 204 with no body, and the session item is gone
    answer = storefront.call("delete_session", token)
    assert answer.status == 204
    assert answer.body is None
    assert storefront.item(f"SESSION#{token.split('.')[0]}", "SESSION") is None
    # And every later use of the token is 401 UNAUTHENTICATED: the cart, and deleting it again
    for function in ("get_cart", "delete_session"):
        refused = storefront.call(function, token)
        assert refused.status == 401
        assert refused.body["code"] == "UNAUTHENTICATED"


UNKNOWN = "Xb3kq9Lm2Vt7Rw1Zp8Hn4c.3oTnQ0vZk1pXj7W2bL9sYfR5uGcA8dEhMi4NqK6tVwx"


@pytest.mark.parametrize("token", [NO_TOKEN, "", "not-a-token", UNKNOWN], ids=["none", "empty", "malformed", "unknown"])
def test_no_malformed_or_unknown_token_deletes_anything(storefront: Storefront, token: object) -> None:
    # Given another live session
    other = storefront.new_session()
    before = storefront.items()
    # When DELETE /sessions/current comes with no, a malformed or an unknown token, Then 401 and nothing changed
    answer = storefront.call("delete_session", token)
    assert answer.status == 401
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert storefront.items() == before
    assert storefront.call("get_cart", other).status == 200


def test_a_token_with_the_right_id_but_another_secret_deletes_nothing(storefront: Storefront) -> None:
    # Given a live session, and a token naming its id with a forged secret
    token = storefront.new_session()
    forged = token.split(".")[0] + "." + "A" * 43
    # When the forged token asks for the deletion, Then 401 and the real token still works
    assert storefront.call("delete_session", forged).status == 401
    assert storefront.call("get_cart", token).status == 200


def test_the_sliding_expiry_never_passes_the_absolute_lifetime() -> None:
    # Given a 7-day sliding policy within a 30-day lifetime, and a session created 28 days ago
    policy = SessionPolicy.days(7, 30)
    created = datetime(2026, 1, 1, tzinfo=UTC)
    now = created + timedelta(days=28)
    session = Session("s", "h", created_at=created, expires_at=created + timedelta(days=29))
    # When it is used now, Then its expiry becomes the end of its lifetime, not now + 7 days
    assert policy.expiry_for(session, now) == created + timedelta(days=30)
    # And a session whose expiry already is the end of its lifetime needs no refresh write
    capped = Session("s", "h", created_at=created, expires_at=created + timedelta(days=30))
    assert not policy.needs_refresh(capped, now)
    # And early in its life, the usual sliding expiry applies
    young = Session("s", "h", created_at=created, expires_at=created + timedelta(days=7))
    assert policy.expiry_for(young, created + timedelta(days=3)) == created + timedelta(days=10)
    assert policy.needs_refresh(young, created + timedelta(days=3))
    # And the lifetime is never shorter than the sliding window
    assert SessionPolicy.days(7, 1).max_lifetime == timedelta(days=7)
