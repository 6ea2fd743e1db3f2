"""Session tokens, expiry and authentication: random, hashed at rest, refused when anything is off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from commerce.domain.clock import rfc3339
from commerce.domain.errors import ErrorCode, Unauthenticated
from commerce.domain.sessions.models import Session, SessionPolicy
from commerce.domain.sessions.service import authenticate, create_session
from commerce.domain.sessions.tokens import SessionToken, issue_token, parse_token, token_hash

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
POLICY = SessionPolicy.days(7)


class RecordingSessions:
    def __init__(self) -> None:
        self.created: list[Session] = []

    def create(self, session: Session) -> None:
        self.created.append(session)


def stored_session(token: SessionToken, *, expires_at: datetime = NOW + timedelta(days=7)) -> Session:
    return Session(session_id=token.session_id, token_hash=token.hash, created_at=NOW, expires_at=expires_at)


def test_issued_tokens_are_random_and_name_their_session() -> None:
    # Given two freshly issued tokens
    first, second = issue_token(), issue_token()
    # Then they differ, start with their session id, and carry 256 random bits after it
    assert first.value != second.value
    assert first.session_id != second.session_id
    assert first.value.startswith(first.session_id + ".")
    assert len(first.value.split(".")[1]) == 43  # 32 bytes, base64url
    # And parsing the token gives back the same session id
    assert parse_token(first.value) == first


def test_create_session_stores_only_the_hash() -> None:
    # Given a repository that records what it is asked to store
    sessions = RecordingSessions()
    # When a session is created
    created = create_session(sessions, POLICY, clock=lambda: NOW)
    # Then the stored session has the token's SHA-256, never the token, and expires after the TTL
    (stored,) = sessions.created
    assert stored.token_hash == token_hash(created.token.value) != created.token.value
    assert created.token.value not in repr(stored)
    assert created.token.value not in repr(created.token)
    assert stored.expires_at == NOW + timedelta(days=7)
    # And the response shape is the API's
    assert created.to_json() == {
        "sessionId": stored.session_id,
        "token": created.token.value,
        "expiresAt": "2026-11-29T10:00:00.000Z",
    }


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "not-a-token",
        "a" * 22,
        "a" * 22 + "." + "b" * 42,  # secret one character short
        "a" * 22 + "." + "b" * 44,  # one character long
        "a" * 21 + "." + "b" * 43,
        "a" * 22 + "." + "b" * 42 + "=",  # padding is not part of the alphabet
        "a" * 22 + ".." + "b" * 42,
        "a" * 22 + "." + "b" * 21 + " " + "b" * 21,
        "a" * 22 + "." + "b" * 43 + ".extra",
    ],
)
def test_malformed_tokens_are_refused_before_any_lookup(raw: str | None) -> None:
    # Given a header value that is not a well-formed token, When it is parsed, Then it is 401
    with pytest.raises(Unauthenticated) as refused:
        parse_token(raw)
    assert refused.value.code is ErrorCode.UNAUTHENTICATED


def test_the_right_token_authenticates_its_session() -> None:
    # Given a stored session and its token
    token = issue_token()
    session = stored_session(token)
    # When the token is presented before expiry, Then the session is returned
    assert authenticate(session, token, NOW + timedelta(days=6)) == session


def test_unknown_tampered_and_expired_tokens_are_refused() -> None:
    # Given a stored session and its token
    token = issue_token()
    session = stored_session(token)
    last_char = token.value[-1]
    tampered = SessionToken(token.session_id, token.value[:-1] + ("A" if last_char != "A" else "B"))
    # Then an unknown session, a tampered secret and an expired (not yet TTL-deleted) session are all 401
    for stored, presented, now in [
        (None, token, NOW),
        (session, tampered, NOW),
        (session, token, session.expires_at),
        (session, token, session.expires_at + timedelta(seconds=1)),
    ]:
        with pytest.raises(Unauthenticated):
            authenticate(stored, presented, now)


def test_expiry_is_extended_only_once_it_has_gone_stale() -> None:
    # Given a session created now with a 7-day TTL (refresh interval: a day)
    session = stored_session(issue_token(), expires_at=POLICY.expiry_from(NOW))
    # Then within a day of its last extension nothing needs writing
    assert POLICY.refresh_interval == timedelta(days=1)
    assert not POLICY.needs_refresh(session, NOW + timedelta(hours=23))
    # And after more than a day the expiry is due to slide to now + TTL
    later = NOW + timedelta(days=1, seconds=1)
    assert POLICY.needs_refresh(session, later)
    assert POLICY.expiry_from(later) == later + timedelta(days=7)


def test_timestamps_are_rfc3339_utc() -> None:
    # Given a time in another zone, Then it is rendered in UTC with a Z
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC)) == "2026-01-02T03:04:05.600Z"
    assert rfc3339(datetime.fromisoformat("2026-01-02T05:04:05+02:00")) == "2026-01-02T03:04:05.000Z"
