"""POST /sessions against moto: a token returned once and stored only as a hash, with a sliding TTL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.carts import Storefront, configure

pytestmark = pytest.mark.integration


@pytest.fixture
def storefront(commerce_table: str, monkeypatch: pytest.MonkeyPatch) -> Storefront:
    configure(monkeypatch)
    return Storefront(commerce_table)


def test_a_session_is_created_with_a_token_stored_only_as_its_hash(storefront: Storefront) -> None:
    # Given no body at all (the sample event), When POST /sessions runs
    before = datetime.now(UTC)
    answer = storefront.call("create_session")
    # Then it answers 201 with the session id, the token and an RFC 3339 expiry 7 days out
    assert answer.status == 201
    assert answer.headers["Content-Type"] == "application/json"
    assert set(answer.body) == {"sessionId", "token", "expiresAt"}
    session_id, token = answer.body["sessionId"], answer.body["token"]
    assert token.startswith(f"{session_id}.")
    expires_at = datetime.fromisoformat(answer.body["expiresAt"])
    assert answer.body["expiresAt"].endswith("Z")
    assert before + timedelta(days=7) - timedelta(seconds=1) <= expires_at <= datetime.now(UTC) + timedelta(days=7)
    # And the item keyed by the session id holds the token's SHA-256, never the token, with the TTL set
    item = storefront.item(f"SESSION#{session_id}", "SESSION")
    assert item is not None
    assert item["tokenHash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(item)
    assert item["ttl"] == int(expires_at.timestamp())
    assert "customerId" not in item


def test_every_session_gets_its_own_token(storefront: Storefront) -> None:
    # Given two sessions created one after the other, Then their ids and tokens differ
    first, second = storefront.new_session(), storefront.new_session()
    assert first != second
    assert first.split(".")[0] != second.split(".")[0]


@pytest.mark.parametrize("body", ["{}", "  ", "{ }\n"])
def test_an_empty_body_or_empty_object_is_accepted(storefront: Storefront, body: str) -> None:
    # Given a body that is blank or `{}`, When a session is created, Then it is 201
    assert storefront.call("create_session", raw_body=body).status == 201


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ('{"customerId": "someone"}', 400, "VALIDATION_ERROR"),
        ("{not json", 400, "VALIDATION_ERROR"),
        ("[]", 400, "VALIDATION_ERROR"),
        ("null", 400, "VALIDATION_ERROR"),
        ('{"a": "' + "x" * (64 * 1024) + '"}', 413, "PAYLOAD_TOO_LARGE"),
    ],
)
def test_a_body_with_anything_in_it_is_refused_and_nothing_is_written(
    storefront: Storefront, body: str, status: int, code: str
) -> None:
    # Given a body that is not empty, not {} or too large
    # When POST /sessions runs
    answer = storefront.call("create_session", raw_body=body)
    # Then it is problem+json with the right code, and no session was stored
    assert answer.status == status
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.code == code
    assert storefront.items() == []
