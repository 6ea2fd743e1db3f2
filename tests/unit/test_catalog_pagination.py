"""Opaque cursors: they round-trip, anything not issued for the same listing (or without the key) is a 400, and the
key rotates without breaking cursors issued just before."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.api.pagination import CursorKeyring, CursorKeys, decode_cursor, encode_cursor, page_json
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


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Secret:
    """A rotatable secret: what `current_and_previous` would read, and how often it was read."""

    def __init__(self, value: bytes) -> None:
        self.keys = CursorKeys(value)
        self.reads = 0

    def rotate(self, value: bytes) -> None:
        self.keys = CursorKeys(value, self.keys.current)

    def load(self) -> CursorKeys:
        self.reads += 1
        return self.keys


def test_a_cursor_with_a_valid_mac_under_another_key_is_refused() -> None:
    # Given a position the attacker chose, MACed exactly as the server does but with a key of their own
    attacker = CursorKeyring(lambda: CursorKeys(b"guessed key"))
    forged = encode_cursor({"n": "[" * 2000, "id": "x"}, SCOPE, attacker)
    # When the server decodes it, Then it is refused before the position is even parsed
    with pytest.raises(ValidationFailed) as raised:
        decode_cursor(forged, SCOPE)
    assert [p.field for p in raised.value.errors] == ["cursor"]


def test_a_deeply_nested_position_signed_with_the_key_is_still_a_clean_400() -> None:
    # Given a cursor carrying a nesting bomb, correctly signed (the key leaked, or a bug issued it)
    payload = "[" * 1500
    cursor = encode_cursor({"n": "x"}, SCOPE)
    assert cursor
    ring = CursorKeyring(lambda: CursorKeys(b"test-cursor-key"))
    from commerce.api import pagination

    mac = pagination._mac(b"test-cursor-key", payload.encode(), SCOPE)
    bomb = f"{pagination._b64(payload.encode())}.{pagination._b64(mac)}"
    # When decoded, Then VALIDATION_ERROR, not a RecursionError
    with pytest.raises(ValidationFailed):
        decode_cursor(bomb, SCOPE, ring)


def test_cursors_survive_a_rotation_and_the_key_before_it_expires_with_the_next() -> None:
    # Given a container that signed a cursor with key A
    secret, clock = Secret(b"key A"), Clock()
    ring = CursorKeyring(secret.load, refresh_seconds=60, max_age_seconds=600, clock=clock)
    position = {"n": "a", "id": "1"}
    under_a = encode_cursor(position, SCOPE, ring)
    # When the secret rotates to B and another container (it read the keys after the rotation) signs a cursor
    secret.rotate(b"key B")
    other = CursorKeyring(secret.load, clock=clock)
    under_b = encode_cursor(position, SCOPE, other)
    assert under_b != under_a
    # Then the new container accepts the cursor signed with A (now AWSPREVIOUS)
    assert decode_cursor(under_a, SCOPE, other) == position
    # And the first container, once its keys are a minute old, re-reads them and accepts the one signed with B
    clock.now = 61
    assert decode_cursor(under_b, SCOPE, ring) == position
    assert encode_cursor(position, SCOPE, ring) == under_b
    # When the secret rotates again (C; B is previous), Then within ten minutes a cursor signed with A is refused
    secret.rotate(b"key C")
    clock.now = 61 + 600
    with pytest.raises(ValidationFailed):
        decode_cursor(under_a, SCOPE, ring)


def test_forged_cursors_reread_the_keys_at_most_once_a_minute() -> None:
    # Given a keyring that has read its keys once
    secret, clock = Secret(b"key A"), Clock()
    ring = CursorKeyring(secret.load, refresh_seconds=60, max_age_seconds=600, clock=clock)
    attacker = CursorKeyring(lambda: CursorKeys(b"guess"))
    assert encode_cursor({"n": "a"}, SCOPE, ring)
    forged = encode_cursor({"n": "a"}, SCOPE, attacker)
    # When a hundred forged cursors arrive within the minute, Then each is refused and the secret is not re-read
    for _ in range(100):
        with pytest.raises(ValidationFailed):
            decode_cursor(forged, SCOPE, ring)
    assert secret.reads == 1
    # When another arrives after the minute, Then the keys are read once more
    clock.now = 61
    with pytest.raises(ValidationFailed):
        decode_cursor(forged, SCOPE, ring)
    assert secret.reads == 2
