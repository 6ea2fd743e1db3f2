"""The errors of the local RDS Data API, shaped as the real service shapes them.

Each class is named after the error code botocore's `rds-data` model declares, carries that model's HTTP
status, and renders the rest-json error body (`{"message": ...}`) the SDK parses into a `ClientError`.
Database errors keep PostgreSQL's own wording the way the Data API passes it on from its JDBC driver:
`ERROR: <message>` with its detail, hint and position lines, then `; SQLState: <code>`.
"""

from __future__ import annotations

from typing import Any

import psycopg


class DataApiError(Exception):
    """An error answered to the caller; `code` is the exception name the SDK sees."""

    status = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return type(self).__name__

    def body(self) -> dict[str, Any]:
        return {"message": self.message} if self.message else {}


class BadRequestException(DataApiError):
    """An error in the call or in the SQL statement (PostgreSQL errors arrive as this)."""


class StatementTimeoutException(DataApiError):
    def __init__(self, message: str, *, db_connection_id: int) -> None:
        super().__init__(message)
        self.db_connection_id = db_connection_id

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "dbConnectionId": self.db_connection_id}


class TransactionNotFoundException(DataApiError):
    """ExecuteStatement / BatchExecuteStatement name a transaction that does not exist (or expired)."""

    status = 404


class NotFoundException(DataApiError):
    """CommitTransaction / RollbackTransaction name a transaction that does not exist (or expired)."""

    status = 404


class DatabaseResumingException(DataApiError):
    """An auto-paused Aurora Serverless v2 instance is resuming: the caller waits and retries."""


class DatabaseUnavailableException(DataApiError):
    status = 504


class HttpEndpointNotEnabledException(DataApiError):
    """The resourceArn is not a cluster this local cloud serves the Data API for."""


class SecretsErrorException(DataApiError):
    """The secretArn is not a secret this local cloud registered for the cluster."""


class UnknownOperationException(DataApiError):
    status = 404


class InternalServerErrorException(DataApiError):
    status = 500


def database_error(error: psycopg.Error) -> BadRequestException:
    """The Data API's rendering of a PostgreSQL error raised while running a statement."""
    return BadRequestException(postgres_message(error))


def postgres_message(error: psycopg.Error) -> str:
    diag = error.diag
    primary = diag.message_primary
    if primary is None:
        return str(error).strip()
    # Unlike `severity`, the non-localized severity is always "ERROR"/"FATAL" whatever lc_messages says.
    lines = [f"{diag.severity_nonlocalized or diag.severity or 'ERROR'}: {primary}"]
    for label, value in (
        ("Detail", diag.message_detail),
        ("Hint", diag.message_hint),
        ("Position", diag.statement_position),
        ("Where", diag.context),
    ):
        if value:
            lines.append(f"  {label}: {value}")
    message = "\n".join(lines)
    return f"{message}; SQLState: {diag.sqlstate}" if diag.sqlstate else message
