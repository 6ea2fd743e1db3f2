"""A session as stored, the expiry policy, and the credentials one request presents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from commerce.domain.clock import rfc3339
from commerce.domain.sessions.tokens import SessionToken


@dataclass(frozen=True)
class Session:
    session_id: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    customer_id: str | None = None

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True)
class SessionPolicy:
    """Sliding expiry within an absolute lifetime: each use pushes the expiry to `now + ttl`, never past
    `created_at + max_lifetime`, and writes it only when it has gone stale.

    Writing the expiry on every request would turn every cart read into a write. Instead the stored expiry
    is extended only when it lags `now + ttl` by more than `ttl / REFRESH_FRACTION` (a day, with the
    default 7-day TTL). An active session therefore always has at least `ttl - ttl / REFRESH_FRACTION`
    left, and costs at most one extra write per refresh interval, until its absolute lifetime (default 30
    days from creation) ends it however active it is: a stolen token cannot be kept alive forever.
    """

    ttl: timedelta
    max_lifetime: timedelta = timedelta(days=30)
    REFRESH_FRACTION = 7

    @classmethod
    def days(cls, ttl_days: int, max_lifetime_days: int = 30) -> SessionPolicy:
        return cls(ttl=timedelta(days=ttl_days), max_lifetime=timedelta(days=max(ttl_days, max_lifetime_days)))

    @property
    def refresh_interval(self) -> timedelta:
        return self.ttl / self.REFRESH_FRACTION

    def expiry_from(self, now: datetime) -> datetime:
        """The expiry of a session created `now` (and of what lives as long as a fresh session: guest carts)."""
        return now + min(self.ttl, self.max_lifetime)

    def expiry_for(self, session: Session, now: datetime) -> datetime:
        """`session`'s expiry after a use at `now`: `now + ttl`, capped at its absolute lifetime."""
        return min(now + self.ttl, session.created_at + self.max_lifetime)

    def needs_refresh(self, session: Session, now: datetime) -> bool:
        return self.expiry_for(session, now) - session.expires_at > self.refresh_interval


@dataclass(frozen=True)
class Credentials:
    """What one request presents: a well-formed session token and, optionally, a verified customer `sub`."""

    token: SessionToken
    customer_id: str | None = None


@dataclass(frozen=True)
class NewSession:
    """A session just created, with the only copy of its token the server will ever hand out."""

    session: Session
    token: SessionToken

    def to_json(self) -> dict[str, str]:
        return {
            "sessionId": self.session.session_id,
            "token": self.token.value,
            "expiresAt": rfc3339(self.session.expires_at),
        }
