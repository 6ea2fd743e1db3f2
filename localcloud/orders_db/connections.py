"""Connections behind the local Data API: a pool for autocommit statements, one connection per transaction.

A statement without a transactionId borrows an idle connection and runs in autocommit mode; a transaction
keeps its own connection from BeginTransaction to Commit/Rollback, and is rolled back when no call uses it
for three minutes (or after 24 hours in all), as the Data API documents. Returned connections are reset
(`DISCARD ALL`, as the Data API's own pooling does), so no session state leaks from one call to the next.

Connections log in as the user the call's secret names (`Login`), or as the server conninfo's own user for
the cluster's master user; idle connections are kept per database and user, so one user's never serves another.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus

from localcloud.orders_db.errors import DataApiError
from localcloud.orders_db.parameters import parameter_adapters

# Aurora's default parameter group runs sessions in UTC; the output formats are the ones results.py parses.
_SESSION_OPTIONS = "-c TimeZone=UTC -c DateStyle=ISO,MDY -c IntervalStyle=postgres -c bytea_output=hex"

TRANSACTION_IDLE_SECONDS = 3 * 60.0
TRANSACTION_MAX_SECONDS = 24 * 60 * 60.0


@dataclass(frozen=True)
class Login:
    """A database user other than the server conninfo's own, as a Data API secret names it."""

    user: str
    password: str = field(repr=False)


class ConnectionPool:
    """Idle autocommit connections, per database and login, all opened from one server conninfo."""

    def __init__(self, conninfo: str, *, max_idle: int = 8) -> None:
        self._conninfo = conninfo
        self._max_idle = max_idle
        self._idle: dict[tuple[str, str | None], list[psycopg.Connection[Any]]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._adapters = parameter_adapters()

    def acquire(self, database: str, login: Login | None = None) -> psycopg.Connection[Any]:
        with self._lock:
            idle = self._idle.get(_key(database, login), [])
            while idle:
                connection = idle.pop()
                if not connection.closed and not connection.broken:
                    return connection
        return self._connect(database, login)

    def release(self, connection: psycopg.Connection[Any], database: str, login: Login | None = None) -> None:
        if connection.closed or connection.broken:
            return
        try:
            if connection.info.transaction_status != TransactionStatus.IDLE:
                connection.execute("ROLLBACK")
            connection.execute("DISCARD ALL")
        except psycopg.Error:
            connection.close()
            return
        with self._lock:
            idle = self._idle.setdefault(_key(database, login), [])
            if not self._closed and len(idle) < self._max_idle:
                idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close idle connections; connections still in use are closed when they come back."""
        with self._lock:
            self._closed = True
            connections = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for connection in connections:
            connection.close()

    def _connect(self, database: str, login: Login | None) -> psycopg.Connection[Any]:
        own_options = conninfo_to_dict(self._conninfo).get("options")
        options = f"{own_options} {_SESSION_OPTIONS}" if own_options else _SESSION_OPTIONS
        as_user = {"user": login.user, "password": login.password} if login is not None else {}
        conninfo = make_conninfo(
            self._conninfo,
            dbname=database,
            options=options,
            client_encoding="UTF8",
            application_name="localcloud-data-api",
            **as_user,
        )
        # No server-side prepared statements: DISCARD ALL between calls would drop them under psycopg's feet.
        return psycopg.connect(conninfo, autocommit=True, prepare_threshold=None, context=self._adapters)


def _key(database: str, login: Login | None) -> tuple[str, str | None]:
    return database, login.user if login is not None else None


@dataclass(eq=False)
class Transaction:
    transaction_id: str
    resource_arn: str
    database: str
    connection: psycopg.Connection[Any]
    started_at: float
    last_used_at: float
    login: Login | None = None  # whom it runs as: a call naming another secret's user does not find it
    failure: str | None = None  # the error that aborted it: COMMIT then reports it
    busy: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class TransactionRegistry:
    """Open transactions by id; each owns a connection inside `BEGIN` until it is committed or rolled back."""

    def __init__(
        self,
        pool: ConnectionPool,
        *,
        clock: Callable[[], float],
        idle_seconds: float = TRANSACTION_IDLE_SECONDS,
        max_seconds: float = TRANSACTION_MAX_SECONDS,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._idle_seconds = idle_seconds
        self._max_seconds = max_seconds
        self._transactions: dict[str, Transaction] = {}
        self._lock = threading.Lock()

    def begin(self, resource_arn: str, database: str, login: Login | None = None) -> str:
        connection = self._pool.acquire(database, login)
        try:
            connection.execute("BEGIN")
        except BaseException:
            self._pool.release(connection, database, login)
            raise
        now = self._clock()
        transaction_id = _new_transaction_id()
        with self._lock:
            self._transactions[transaction_id] = Transaction(
                transaction_id, resource_arn, database, connection, started_at=now, last_used_at=now, login=login
            )
        return transaction_id

    @contextmanager
    def use(
        self, transaction_id: str, resource_arn: str, not_found: type[DataApiError], login: Login | None = None
    ) -> Iterator[Transaction]:
        """Hold the transaction for one call; calls on the same transaction run one after the other."""
        with self._lock:
            transaction = self._transactions.get(transaction_id)
            if (
                transaction is None
                or transaction.resource_arn != resource_arn
                or _key("", transaction.login) != _key("", login)
            ):
                raise not_found(f"Transaction {transaction_id} is not found")
            transaction.busy += 1
        try:
            with transaction.lock:
                if self._transactions.get(transaction_id) is not transaction:
                    raise not_found(f"Transaction {transaction_id} is not found")
                transaction.last_used_at = self._clock()
                yield transaction
        finally:
            with self._lock:
                transaction.busy -= 1
                transaction.last_used_at = self._clock()

    def finish(self, transaction: Transaction) -> None:
        """Forget a transaction that has been committed or rolled back, and return its connection."""
        with self._lock:
            self._transactions.pop(transaction.transaction_id, None)
        self._pool.release(transaction.connection, transaction.database, transaction.login)

    def expire(self) -> None:
        """Roll back transactions idle for too long (or open for too long), as the Data API does."""
        now = self._clock()
        with self._lock:
            expired = [
                t
                for t in self._transactions.values()
                if not t.busy and (now - t.last_used_at > self._idle_seconds or now - t.started_at > self._max_seconds)
            ]
            for transaction in expired:
                del self._transactions[transaction.transaction_id]
        for transaction in expired:
            self._pool.release(transaction.connection, transaction.database, transaction.login)  # rolls back

    def close(self) -> None:
        with self._lock:
            transactions = list(self._transactions.values())
            self._transactions.clear()
        for transaction in transactions:
            transaction.connection.close()

    def __len__(self) -> int:
        with self._lock:
            return len(self._transactions)


def _new_transaction_id() -> str:
    """Opaque like the real ids (about 180 base64 characters), and unguessable."""
    return base64.b64encode(secrets.token_bytes(135)).decode()
