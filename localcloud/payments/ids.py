"""Object ids in Stripe's style: a type prefix and a random tail (`pi_3QhT...`, `evt_1Pq...`, `whsec_...`)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_{random_token(length)}"
