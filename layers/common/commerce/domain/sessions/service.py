"""Creating sessions, checking a presented token against the stored session, and revoking one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from commerce.domain.clock import Clock, utc_now
from commerce.domain.errors import Unauthenticated
from commerce.domain.sessions.models import NewSession, Session, SessionPolicy
from commerce.domain.sessions.tokens import INVALID_TOKEN_DETAIL, SessionToken, issue_token

SessionReader = Callable[[str], Session | None]
"""Reads a stored session by id (None when there is none): what identifying a caller needs."""


class SessionRepository(Protocol):
    def create(self, session: Session) -> None:
        """Store a new session (its id never exists yet)."""
        ...


class RevocableSessions(Protocol):
    def get(self, session_id: str) -> Session | None:
        """The stored session, or None."""
        ...

    def delete(self, session: Session) -> None:
        """Delete the stored session if it is still the one read (same token hash); nothing if it is gone."""
        ...


def create_session(repository: SessionRepository, policy: SessionPolicy, clock: Clock = utc_now) -> NewSession:
    now = clock()
    token = issue_token()
    session = Session(
        session_id=token.session_id,
        token_hash=token.hash,
        created_at=now,
        expires_at=policy.expiry_from(now),
    )
    repository.create(session)
    return NewSession(session=session, token=token)


def authenticate(stored: Session | None, token: SessionToken, now: datetime) -> Session:
    """The stored session if `token` proves it and it has not expired, else Unauthenticated.

    Expiry is checked here, not left to DynamoDB's TTL, which deletes expired items only eventually.
    """
    if stored is None or not token.matches(stored.token_hash) or stored.is_expired(now):
        raise Unauthenticated(INVALID_TOKEN_DETAIL)
    return stored


def revoke_session(sessions: RevocableSessions, token: SessionToken, clock: Clock = utc_now) -> None:
    """End the session `token` proves (`DELETE /sessions/current`): deleted, so every later use of the token
    finds no session and is 401, as an unknown token is. Unauthenticated if the token proves no live session."""
    session = authenticate(sessions.get(token.session_id), token, clock())
    sessions.delete(session)
