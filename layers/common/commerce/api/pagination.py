"""List endpoints: `limit` and `cursor` query parameters, opaque cursors, and the `{"items","nextCursor"}` shape.

A cursor is base64url(JSON position) + "." + an HMAC over the position and the listing's scope (its
filters), keyed with the secret `CursorSecret` (env CURSOR_SECRET_ARN). Nobody without the key can forge
a position, so a listing only ever decodes positions it issued itself; garbage, edited, forged and
cross-listing cursors are a clean 400 (VALIDATION_ERROR on `cursor`), and the listing still checks the
decoded position itself.

Rotation: put a new value into the secret (Secrets Manager moves the old one to AWSPREVIOUS). Cursors are
signed with AWSCURRENT and accepted under AWSCURRENT or AWSPREVIOUS, so cursors issued just before a
rotation keep working. Each container caches both keys for ten minutes; a cursor that verifies under
neither makes it re-read them, at most once a minute (a container that has not yet seen the rotation
learns of it; a flood of forged cursors cannot turn into a flood of Secrets Manager calls). A key rotated
out is refused everywhere at most ten minutes after the rotation that retired it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from commerce import bounded_json
from commerce.domain.errors import FieldProblem, ValidationFailed

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_CHARS = 2048
_MAC_BYTES = 16
_CURSOR_VERSION = b"cursor/v2"
_KEY_REFRESH_SECONDS = 60.0
_KEY_MAX_AGE_SECONDS = 600.0

Query = TypeVar("Query", bound=BaseModel)


class PageQuery(BaseModel):
    """`limit` (1-100, default 20) and `cursor`. Subclass it with a listing's filters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(None, min_length=1, max_length=MAX_CURSOR_CHARS)


def parse_query(app: APIGatewayHttpResolver, model: type[Query]) -> Query:
    """The query string as `model`, or 400 VALIDATION_ERROR naming each bad parameter."""
    params = app.current_event.query_string_parameters or {}
    try:
        return model.model_validate(dict(params))
    except ValidationError as error:
        from commerce.api.http import validation_failed

        raise validation_failed(error) from error


@dataclass(frozen=True)
class CursorKeys:
    """The key cursors are signed with, and the previous one, still accepted until the next rotation."""

    current: bytes
    previous: bytes | None = None

    @property
    def accepted(self) -> tuple[bytes, ...]:
        return (self.current,) if self.previous is None else (self.current, self.previous)


class CursorKeyring:
    """CursorKeys read through `load`, cached for `max_age_seconds`, re-read on a miss at most every
    `refresh_seconds`."""

    def __init__(
        self,
        load: Callable[[], CursorKeys],
        refresh_seconds: float = _KEY_REFRESH_SECONDS,
        max_age_seconds: float = _KEY_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load, self._clock = load, clock
        self._refresh_seconds, self._max_age_seconds = refresh_seconds, max_age_seconds
        self._lock = threading.Lock()
        self._keys: CursorKeys | None = None
        self._loaded_at = 0.0

    def keys(self) -> CursorKeys:
        with self._lock:
            if self._keys is None or self._clock() - self._loaded_at >= self._max_age_seconds:
                self._keys, self._loaded_at = self._load(), self._clock()
            return self._keys

    def refreshed(self) -> CursorKeys | None:
        """Fresh keys when the cached ones are old enough to re-read, else None."""
        with self._lock:
            if self._keys is not None and self._clock() - self._loaded_at < self._refresh_seconds:
                return None
            self._keys, self._loaded_at = self._load(), self._clock()
            return self._keys


def _keys_from_secret() -> CursorKeys:
    from commerce.adapters.secrets import current_and_previous

    secret_arn = os.environ.get("CURSOR_SECRET_ARN")
    if not secret_arn:
        raise RuntimeError("CURSOR_SECRET_ARN is not set: list functions sign cursors with CursorSecret")
    current, previous = current_and_previous(secret_arn)
    return CursorKeys(current.encode(), previous.encode() if previous is not None else None)


# The functions' keyring; tests pass their own.
keyring = CursorKeyring(_keys_from_secret)


def encode_cursor(position: Mapping[str, str] | None, scope: str, ring: CursorKeyring | None = None) -> str | None:
    if position is None:
        return None
    payload = json.dumps(dict(position), separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    key = (ring or keyring).keys().current
    return f"{_b64(payload)}.{_b64(_mac(key, payload, scope))}"


def decode_cursor(cursor: str | None, scope: str, ring: CursorKeyring | None = None) -> dict[str, str] | None:
    """The position `cursor` names, or 400 VALIDATION_ERROR when it was not issued for this `scope`."""
    if cursor is None:
        return None
    try:
        payload_part, mac_part = cursor.split(".")
        payload, mac = _unb64(payload_part), _unb64(mac_part)
    except (ValueError, binascii.Error) as error:
        raise invalid_cursor() from error
    ring = ring or keyring
    if not _signed_by(ring.keys(), mac, payload, scope):
        fresh = ring.refreshed()
        if fresh is None or not _signed_by(fresh, mac, payload, scope):
            raise invalid_cursor()
    try:
        position = bounded_json.loads(payload)
    except ValueError as error:
        raise invalid_cursor() from error
    if not isinstance(position, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in position.items()
    ):
        raise invalid_cursor()
    return position


def _signed_by(keys: CursorKeys, mac: bytes, payload: bytes, scope: str) -> bool:
    # Every key is compared (no early exit), so timing does not tell which key nearly matched.
    matches = [hmac.compare_digest(mac, _mac(key, payload, scope)) for key in keys.accepted]
    return any(matches)


def page_json(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "nextCursor": next_cursor}


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not valid for this listing",
        errors=[FieldProblem(field="cursor", code="INVALID_CURSOR", message="use a nextCursor from the same listing")],
    )


def _mac(key: bytes, payload: bytes, scope: str) -> bytes:
    scope_bytes = scope.encode()  # length-prefixed: no scope/payload split of one message reads as another
    message = _CURSOR_VERSION + len(scope_bytes).to_bytes(4, "big") + scope_bytes + payload
    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or not text.isascii():
        raise ValueError("empty or non-ASCII cursor part")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
