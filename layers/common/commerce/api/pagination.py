"""List endpoints: `limit` and `cursor` query parameters, opaque cursors, and the `{"items","nextCursor"}` shape.

A cursor is base64url(JSON position) + "." + a MAC over the position and the listing's scope (its
filters). The MAC is not a secret-keyed signature, and needs not be: a cursor only names a place in a
listing anyone may read. It makes garbage, edited and cross-listing cursors a clean 400 instead of a
storage error, and the listing still checks the decoded position itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
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
_CURSOR_VERSION = b"cursor/v1"

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


def encode_cursor(position: Mapping[str, str] | None, scope: str) -> str | None:
    if position is None:
        return None
    payload = json.dumps(dict(position), separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    return f"{_b64(payload)}.{_b64(_mac(payload, scope))}"


def decode_cursor(cursor: str | None, scope: str) -> dict[str, str] | None:
    """The position `cursor` names, or 400 VALIDATION_ERROR when it was not issued for this `scope`."""
    if cursor is None:
        return None
    try:
        payload_part, mac_part = cursor.split(".")
        payload, mac = _unb64(payload_part), _unb64(mac_part)
    except (ValueError, binascii.Error) as error:
        raise invalid_cursor() from error
    if not hmac.compare_digest(mac, _mac(payload, scope)):
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


def page_json(items: list[Any], next_cursor: str | None) -> dict[str, Any]:
    return {"items": items, "nextCursor": next_cursor}


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not valid for this listing",
        errors=[FieldProblem(field="cursor", code="INVALID_CURSOR", message="use a nextCursor from the same listing")],
    )


def _mac(payload: bytes, scope: str) -> bytes:
    return hmac.new(_CURSOR_VERSION + b"\x00" + scope.encode(), payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or not text.isascii():
        raise ValueError("empty or non-ASCII cursor part")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
