"""Opaque cursors: they round-trip, and anything not issued for the same listing is a 400."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.api.pagination import decode_cursor, encode_cursor, page_json
from commerce.domain.errors import ErrorCode, ValidationFailed

SCOPE = "products\x1fshoes\x1f"


def test_a_cursor_round_trips_within_its_scope() -> None:
    # Given a position, When encoded and decoded for the same scope, Then it is unchanged
    position = {"n": "trail runner ü", "id": "a" * 32}
    cursor = encode_cursor(position, SCOPE)
    assert cursor is not None
    assert decode_cursor(cursor, SCOPE) == position
    # And no position / no cursor mean the first and the last page
    assert encode_cursor(None, SCOPE) is None
    assert decode_cursor(None, SCOPE) is None


def test_a_cursor_from_another_listing_is_refused() -> None:
    # Given a cursor issued for shoes, When used for shirts, Then VALIDATION_ERROR on the cursor field
    cursor = encode_cursor({"n": "x", "id": "a" * 32}, SCOPE)
    with pytest.raises(ValidationFailed) as raised:
        decode_cursor(cursor, "products\x1fshirts\x1f")
    assert raised.value.code is ErrorCode.VALIDATION_ERROR
    assert [p.field for p in raised.value.errors] == ["cursor"]


def test_an_edited_cursor_is_refused() -> None:
    # Given a valid cursor whose position part is swapped for another position
    good = encode_cursor({"n": "a", "id": "a" * 32}, SCOPE)
    other = encode_cursor({"n": "z", "id": "b" * 32}, SCOPE)
    assert good
    assert other
    forged = other.split(".")[0] + "." + good.split(".")[1]
    # When decoded, Then it is refused
    with pytest.raises(ValidationFailed):
        decode_cursor(forged, SCOPE)


@pytest.mark.parametrize("garbage", ["", ".", "abc", "a.b.c", "!!!.???", "é.é", "eyJ9.AAAA", "x" * 3000])
def test_garbage_cursors_are_refused(garbage: str) -> None:
    # Given / When garbage is decoded / Then VALIDATION_ERROR, never another exception
    with pytest.raises(ValidationFailed):
        decode_cursor(garbage, SCOPE)


@given(st.text(max_size=300))
def test_no_text_makes_decoding_crash(text: str) -> None:
    # Given any text, When decoded, Then it is either refused cleanly or (never, in practice) a string mapping
    try:
        decoded = decode_cursor(text, SCOPE)
    except ValidationFailed:
        return
    assert isinstance(decoded, dict)


def test_page_shape_is_items_and_next_cursor() -> None:
    # Given items and no next page, When rendered, Then the list shape of the contract
    assert page_json([{"a": 1}], None) == {"items": [{"a": 1}], "nextCursor": None}
