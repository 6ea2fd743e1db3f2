"""TOTP codes as an authenticator app makes them: RFC 6238's own test vectors (SHA-1, cut to 6 digits)."""

from __future__ import annotations

import base64

import pytest

from localcloud.totp import totp_code

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode().rstrip("=")  # Cognito hands secrets out unpadded


@pytest.mark.parametrize(
    ("at", "code"), [(59, "287082"), (1111111109, "081804"), (1234567890, "005924"), (2000000000, "279037")]
)
def test_codes_match_rfc_6238(at: int, code: str) -> None:
    assert totp_code(RFC_SECRET, at=at) == code


def test_a_code_is_the_same_through_its_30_second_step_and_changes_after() -> None:
    assert totp_code(RFC_SECRET, at=60) == totp_code(RFC_SECRET, at=89)
    assert totp_code(RFC_SECRET, at=89) != totp_code(RFC_SECRET, at=90)


def test_now_gives_a_six_digit_code() -> None:
    code = totp_code(RFC_SECRET)
    assert len(code) == 6
    assert code.isdigit()
