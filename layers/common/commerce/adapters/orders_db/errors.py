"""Data API errors, translated at this boundary into what the rest of the code can act on.

- "not run, the cluster is resuming": `DatabaseResumingException` (Aurora Serverless v2 auto-pause),
  `DatabaseUnavailableException` (the writer is not reachable yet), and the older shapes of the same
  condition that arrive as `BadRequestException` (Aurora Serverless v1 and early v2: "Communications
  link failure", "is resuming after being auto-paused"). The message is matched only for those legacy
  shapes, because they carry nothing else to recognise them by. These are retried; see `data_api`.
- a statement PostgreSQL refused (`BadRequestException` ending in "; SQLState: <code>"): `StatementFailed`
  with the SQLSTATE, so callers can tell a unique violation (23505) from a check violation (23514).
- anything else (permissions, secrets, unknown transaction, timeouts): `OrdersDatabaseError`, a 500.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from commerce.domain.orders.errors import OrdersDatabaseError

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

RESUMING_CODES = frozenset({"DatabaseResumingException", "DatabaseUnavailableException"})
_LEGACY_RESUMING_MESSAGES = ("Communications link failure", "is resuming after being auto-paused")
_SQLSTATE = re.compile(r"SQLState: ([0-9A-Z]{5})\s*$")

UNIQUE_VIOLATION = "23505"
CHECK_VIOLATION = "23514"
FOREIGN_KEY_VIOLATION = "23503"
# db/migrations/0005_fulfilments.sql: a fulfilment ships more than is left (CF001), or its status disagrees
# with what is left (CF002).
FULFILMENT_REFUSED = frozenset({"CF001", "CF002"})


class StatementFailed(OrdersDatabaseError):
    """PostgreSQL refused a statement. `sqlstate` is its error code (None when the Data API gave none)."""

    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(f"The orders database refused a statement: {message}")
        self.sqlstate = sqlstate


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message") or error.response.get("message") or "")


def is_resuming(error: ClientError) -> bool:
    """The statement did not run because the cluster is (still) resuming: safe to send again."""
    code = error_code(error)
    if code in RESUMING_CODES:
        return True
    return code == "BadRequestException" and any(text in error_message(error) for text in _LEGACY_RESUMING_MESSAGES)


def translate(error: ClientError) -> OrdersDatabaseError:
    code, message = error_code(error), error_message(error)
    if code == "BadRequestException":
        match = _SQLSTATE.search(message)
        return StatementFailed(message, match.group(1) if match else None)
    return OrdersDatabaseError(f"The orders database call failed: {code}: {message}")
