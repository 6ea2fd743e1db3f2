"""TOTP codes (RFC 6238: SHA-1, 6 digits, 30 s steps) for a base32 secret as Cognito's AssociateSoftwareToken
hands it out: what an authenticator app shows. The demo operators sign in with them (`localcloud totp USER`,
`localcloud token USER`), and the demo data enrols them with one.
"""

from __future__ import annotations

import base64
import time

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

STEP_SECONDS = 30
# A code made this close to the end of its step could reach Cognito in the next one, where (allowing no
# earlier step, as moto does) it is refused: wait for the next step instead.
_LATE_IN_STEP = 2.0


def totp_code(secret: str, *, at: float | None = None) -> str:
    """The 6-digit code for `secret` now (or at `at`, seconds since the epoch: then without waiting)."""
    padded = secret + "=" * (-len(secret) % 8)
    # SHA-1 is what RFC 6238 and Cognito's TOTP use: an HMAC key, not a digest to trust.
    totp = TOTP(base64.b32decode(padded, casefold=True), 6, SHA1(), STEP_SECONDS, enforce_key_length=False)  # noqa: S303
    if at is None:
        left = STEP_SECONDS - time.time() % STEP_SECONDS
        if left < _LATE_IN_STEP:
            time.sleep(left)
        at = time.time()
    return totp.generate(at).decode()
