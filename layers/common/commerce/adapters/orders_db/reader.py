"""The reader user's password, set from its secret by the migration function (which holds the master's).

The order functions that only read (GET /orders, /orders/{orderId}, /admin/orders, /admin/orders/{orderId})
reach the Data API with `OrdersDbReaderSecret`, whose username is `commerce_reader` (migration 0004 creates
the role with SELECT on the order tables only). The Data API logs in with that secret's username and
password, so the role's password must be the secret's: `set_reader_password` reads the secret and runs
`ALTER ROLE ... PASSWORD` as the master user, every time the migration custom resource runs.

The password travels as a SCRAM-SHA-256 verifier (what PostgreSQL would store anyway), never in clear, so
neither the statement nor a statement log holds the password itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from typing import Any

from commerce.adapters.orders_db.data_api import DataApi

READER_ROLE = "commerce_reader"
SCRAM_ITERATIONS = 4096  # PostgreSQL's default scram_iterations
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ReaderSecretInvalid(ValueError):
    """The reader's secret is not the JSON object {"username": "commerce_reader", "password": "..."}."""


def reader_credentials(secret_string: str) -> tuple[str, str]:
    """The (username, password) of the reader's secret, checked: the username must be the reader role."""
    try:
        document: Any = json.loads(secret_string)
    except ValueError:
        raise ReaderSecretInvalid("the reader's secret is not JSON") from None
    if not isinstance(document, dict):
        raise ReaderSecretInvalid("the reader's secret is not a JSON object")
    username, password = document.get("username"), document.get("password")
    if username != READER_ROLE:
        raise ReaderSecretInvalid(f"the reader's secret must name the user {READER_ROLE!r}, not {username!r}")
    if not isinstance(password, str) or not password or "\x00" in password:
        raise ReaderSecretInvalid("the reader's secret has no usable password")
    return username, password


def scram_sha256_verifier(password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5802/7677), as `ALTER ROLE ... PASSWORD`
    accepts it. (PostgreSQL SASLprep-normalises the password first; for ASCII that changes nothing.)"""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def alter_role_password_sql(role: str, password: str) -> str:
    """`ALTER ROLE` takes no bound parameters: the role is checked against a plain name and the verifier
    (base64 and punctuation of a fixed shape, never a quote) is a literal."""
    if not _ROLE_NAME.match(role):
        raise ReaderSecretInvalid(f"not a plain role name: {role!r}")
    verifier = scram_sha256_verifier(password)
    assert "'" not in verifier  # base64, digits, '$' and ':' only
    return f"ALTER ROLE {role} PASSWORD '{verifier}'"


def set_reader_password(db: DataApi, secret_string: str) -> str:
    """Make the reader role's password the one its secret holds (run as the master user); the role's name."""
    username, password = reader_credentials(secret_string)
    db.execute(alter_role_password_sql(username, password))
    return username
