"""Session tokens: `<sessionId>.<secret>`, random, returned once, stored only as a SHA-256 hash.

The session id in front lets the table key be derived from the token without a scan; the secret
(256 random bits) is what proves possession. The stored hash covers the whole token, and it is compared
in constant time so that response timing reveals nothing about how much of a forged token was right.
A token that does not have the exact shape is refused before anything is read.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from commerce.domain.errors import Unauthenticated

SESSION_ID_BYTES = 16  # 128 bits: unguessable on its own, short enough for a key
SECRET_BYTES = 32  # 256 bits of proof

# token_urlsafe(n) gives ceil(n * 4 / 3) characters of [A-Za-z0-9_-]: 22 and 43 here.
_TOKEN = re.compile(r"^(?P<session_id>[A-Za-z0-9_-]{22})\.(?P<secret>[A-Za-z0-9_-]{43})$")

# One message for malformed, unknown, tampered and expired tokens: the caller learns nothing about which.
INVALID_TOKEN_DETAIL = "The session token is not valid or has expired; create a new session with POST /sessions"  # noqa: S105


@dataclass(frozen=True)
class SessionToken:
    """A well-formed token as presented or issued. `value` is the secret bearer credential: never log it."""

    session_id: str
    value: str = field(repr=False)

    @property
    def hash(self) -> str:
        return token_hash(self.value)

    def matches(self, stored_hash: str) -> bool:
        return hmac.compare_digest(self.hash.encode(), stored_hash.encode())


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token() -> SessionToken:
    session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
    return SessionToken(session_id=session_id, value=f"{session_id}.{secrets.token_urlsafe(SECRET_BYTES)}")


def parse_token(raw: str | None) -> SessionToken:
    """The token in an `X-Session-Token` header, or Unauthenticated when it is missing or malformed."""
    if not raw:
        raise Unauthenticated("An X-Session-Token header is required; create a session with POST /sessions")
    match = _TOKEN.fullmatch(raw.strip())
    if match is None:
        raise Unauthenticated(INVALID_TOKEN_DETAIL)
    return SessionToken(session_id=match["session_id"], value=match.group(0))
