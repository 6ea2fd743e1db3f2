"""The RDS Data API, served locally over PostgreSQL, so handlers use boto3's `rds-data` client unchanged.

`DataApiApp` is a WSGI app speaking the service's rest-json protocol (botocore's `rds-data` model):
ExecuteStatement (POST /Execute), BatchExecuteStatement (/BatchExecute), BeginTransaction,
CommitTransaction and RollbackTransaction. The edge routes requests signed for `rds-data` here
(`is_data_api`). Every statement runs on a worker thread so that the call can time out as the real one does
(45 seconds, `StatementTimeoutException`), cancelling the statement unless `continueAfterTimeout` is set.

Each call runs as the database user its `secretArn` names, as the real API logs in with the secret's
credentials: `logins(secret_arn)` gives that user (a `Login`), or None for the cluster's master user, which
the server conninfo's own user stands for. A statement the user may not run fails as PostgreSQL refuses it
(`BadRequestException: ERROR: permission denied for table orders; SQLState: 42501`).

`simulate_resuming(seconds)` (or `LOCALCLOUD_DB_RESUMING_SECONDS` at start) makes the API answer
`DatabaseResumingException` for a while, as Aurora Serverless v2 does while an auto-paused instance resumes,
so callers' retry paths can be exercised.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeoutError
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg.pq import TransactionStatus
from werkzeug.wrappers import Request, Response

from localcloud.orders_db.catalog import TypeCatalog, source_columns
from localcloud.orders_db.connections import (
    TRANSACTION_IDLE_SECONDS,
    ConnectionPool,
    Login,
    Transaction,
    TransactionRegistry,
)
from localcloud.orders_db.errors import (
    BadRequestException,
    DataApiError,
    DatabaseResumingException,
    DatabaseUnavailableException,
    HttpEndpointNotEnabledException,
    InternalServerErrorException,
    NotFoundException,
    SecretsErrorException,
    StatementTimeoutException,
    TransactionNotFoundException,
    UnknownOperationException,
    database_error,
    postgres_message,
)
from localcloud.orders_db.metadata import column_metadata
from localcloud.orders_db.named_params import compile_statement
from localcloud.orders_db.parameters import bind_parameters
from localcloud.orders_db.results import ColumnReader, ResultOptions

RESUMING_SECONDS_ENV = "LOCALCLOUD_DB_RESUMING_SECONDS"
STATEMENT_TIMEOUT_SECONDS = 45.0
MAX_RECORDS_BYTES = 1024 * 1024  # the Data API's response size limit
MAX_FORMATTED_RECORDS_BYTES = 10 * 1024 * 1024  # its limit for formattedRecords

T = TypeVar("T")
Connection = psycopg.Connection[Any]


def is_data_api(service: str, environ: dict[str, Any]) -> bool:
    """The edge's predicate: requests signed for the `rds-data` service belong to this app."""
    return service == "rds-data"


@dataclass(frozen=True)
class _Target:
    """Where a statement runs: inside a transaction, or on a pooled connection of a database."""

    resource_arn: str
    database: str
    transaction_id: str | None
    login: Login | None = None


class _Holder:
    """The connection a worker is using, so a timed-out call can cancel its statement."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connection: Connection | None = None
        self.abandoned = False


class DataApiApp:
    """WSGI app: the RDS Data API over one PostgreSQL server (`conninfo`), `database` by default."""

    def __init__(
        self,
        conninfo: str,
        *,
        database: str,
        cluster_arns: Collection[str] | None = None,
        secret_arns: Collection[str] | None = None,
        logins: Callable[[str], Login | None] | None = None,
        statement_timeout_seconds: float = STATEMENT_TIMEOUT_SECONDS,
        transaction_idle_seconds: float = TRANSACTION_IDLE_SECONDS,
        resuming_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_idle_connections: int = 8,
    ) -> None:
        self._database = database
        self._cluster_arns = frozenset(cluster_arns) if cluster_arns is not None else None
        self._secret_arns = frozenset(secret_arns) if secret_arns is not None else None
        self._logins = logins or (lambda secret_arn: None)
        self._statement_timeout = statement_timeout_seconds
        self._clock = clock
        self._pool = ConnectionPool(conninfo, max_idle=max_idle_connections)
        self._transactions = TransactionRegistry(self._pool, clock=clock, idle_seconds=transaction_idle_seconds)
        self._types = TypeCatalog()
        self._resuming_until = 0.0
        if resuming_seconds is None:
            resuming_seconds = float(os.environ.get(RESUMING_SECONDS_ENV) or 0)
        self.simulate_resuming(resuming_seconds)
        self._operations: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
            "/Execute": self.execute_statement,
            "/BatchExecute": self.batch_execute_statement,
            "/BeginTransaction": self.begin_transaction,
            "/CommitTransaction": self.commit_transaction,
            "/RollbackTransaction": self.rollback_transaction,
            "/ExecuteSql": self._execute_sql,
        }

    # -- switches and lifecycle ------------------------------------------------------------------------

    def simulate_resuming(self, seconds: float) -> None:
        """Answer DatabaseResumingException to statements and BeginTransaction for the next `seconds`."""
        self._resuming_until = self._clock() + seconds if seconds > 0 else 0.0

    @property
    def open_transactions(self) -> int:
        return len(self._transactions)

    def close(self) -> None:
        """Roll back open transactions (by closing their connections) and close the pool."""
        self._transactions.close()
        self._pool.close()

    # -- WSGI ------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        request_id = str(uuid.uuid4())
        try:
            operation = self._operations.get(request.path)
            if request.method != "POST" or operation is None:
                raise UnknownOperationException(f"Unknown operation {request.method} {request.path}")
            body = self._parse_body(request.get_data())
            status, payload, headers = 200, operation(body), {}
        except DataApiError as error:
            status, payload, headers = error.status, error.body(), {"x-amzn-ErrorType": error.code}
        except Exception as error:  # an unexpected fault answers 500, as a service does, instead of a dropped call
            fault = InternalServerErrorException(f"{type(error).__name__}: {error}")
            status, payload, headers = fault.status, fault.body(), {"x-amzn-ErrorType": fault.code}
        response = Response(
            json.dumps(payload),
            status=status,
            content_type="application/json",
            headers={"x-amzn-RequestId": request_id, **headers},
        )
        return response(environ, start_response)

    @staticmethod
    def _parse_body(data: bytes) -> Mapping[str, Any]:
        try:
            body = json.loads(data or b"{}")
        except ValueError as error:
            raise BadRequestException("Request body is not valid JSON") from error
        if not isinstance(body, dict):
            raise BadRequestException("Request body must be a JSON object")
        return body

    # -- operations ------------------------------------------------------------------------------------

    def execute_statement(self, request: Mapping[str, Any]) -> dict[str, Any]:
        target = self._target(request, may_resume=True)
        sql = _required_str(request, "sql")
        parameters = bind_parameters(_list(request, "parameters"))
        statement = compile_statement(sql, parameters.keys())
        values = {name: parameters[name] for name in statement.names}
        shape = _ResultShape(
            include_metadata=bool(request.get("includeResultMetadata")),
            as_json=request.get("formatRecordsAs") == "JSON",
            options=ResultOptions.from_request(request.get("resultSetOptions")),
        )

        def run(connection: Connection) -> dict[str, Any]:
            with connection.cursor() as cursor:
                cursor.execute(statement.query, values if statement.has_parameters else None, prepare=False)
                return self._statement_response(connection, target.database, cursor, shape)

        return self._run(target, run, continue_after_timeout=bool(request.get("continueAfterTimeout")))

    def batch_execute_statement(self, request: Mapping[str, Any]) -> dict[str, Any]:
        target = self._target(request, may_resume=True)
        sql = _required_str(request, "sql")
        parameter_sets = [bind_parameters(parameters) for parameters in _list(request, "parameterSets")]
        names = {name for parameters in parameter_sets for name in parameters}
        statement = compile_statement(sql, names)
        options = ResultOptions()

        def run_all(connection: Connection) -> list[dict[str, Any]]:
            results = []
            with connection.cursor() as cursor:
                for parameters in parameter_sets or [{}]:
                    missing = [name for name in statement.names if name not in parameters]
                    if missing:
                        raise BadRequestException(f"No value specified for parameter '{missing[0]}'")
                    values = {name: parameters[name] for name in statement.names}
                    cursor.execute(statement.query, values if statement.has_parameters else None, prepare=False)
                    results.append(
                        {"generatedFields": self._generated_fields(connection, target.database, cursor, options)}
                    )
            return results if parameter_sets else []

        def run(connection: Connection) -> dict[str, Any]:
            if target.transaction_id is not None:
                return {"updateResults": run_all(connection)}
            # Outside a transaction the whole batch commits or none of it does, as a JDBC batch does.
            with connection.transaction():
                return {"updateResults": run_all(connection)}

        return self._run(target, run, continue_after_timeout=False)

    def begin_transaction(self, request: Mapping[str, Any]) -> dict[str, Any]:
        target = self._target(request, may_resume=True, accepts_transaction=False)
        try:
            transaction_id = self._transactions.begin(target.resource_arn, target.database, target.login)
        except psycopg.OperationalError as error:
            raise _connection_error(error) from error
        return {"transactionId": transaction_id}

    def commit_transaction(self, request: Mapping[str, Any]) -> dict[str, Any]:
        resource_arn, transaction_id, login = self._transaction_request(request)
        with self._transactions.use(transaction_id, resource_arn, NotFoundException, login) as transaction:
            try:
                if transaction.connection.info.transaction_status == TransactionStatus.INERROR:
                    transaction.connection.execute("ROLLBACK")
                    raise BadRequestException(
                        "The database returned ROLLBACK, so the transaction cannot be committed. "
                        f"Transaction failure cause is <<{transaction.failure}>>"
                    )
                transaction.connection.execute("COMMIT")
            except psycopg.Error as error:
                raise database_error(error) from error
            finally:
                self._transactions.finish(transaction)
        return {"transactionStatus": "Transaction Committed"}

    def rollback_transaction(self, request: Mapping[str, Any]) -> dict[str, Any]:
        resource_arn, transaction_id, login = self._transaction_request(request)
        with self._transactions.use(transaction_id, resource_arn, NotFoundException, login) as transaction:
            try:
                transaction.connection.execute("ROLLBACK")
            except psycopg.Error as error:
                raise database_error(error) from error
            finally:
                self._transactions.finish(transaction)
        return {"transactionStatus": "Rollback Complete"}

    def _execute_sql(self, request: Mapping[str, Any]) -> dict[str, Any]:
        raise BadRequestException("This API is deprecated and not available. Use ExecuteStatement API instead")

    # -- request checks --------------------------------------------------------------------------------

    def _target(self, request: Mapping[str, Any], *, may_resume: bool, accepts_transaction: bool = True) -> _Target:
        self._transactions.expire()
        resource_arn, login = self._check_arns(request)
        if may_resume and self._clock() < self._resuming_until:
            cluster = resource_arn.rsplit(":", 1)[-1]
            raise DatabaseResumingException(
                f"The Aurora DB instance of cluster {cluster} is resuming after being auto-paused. "
                "Please wait a few seconds and try again."
            )
        database = request.get("database") or self._database
        if not isinstance(database, str):
            raise BadRequestException("database must be a string")
        transaction_id = request.get("transactionId") if accepts_transaction else None
        if transaction_id is not None and not isinstance(transaction_id, str):
            raise BadRequestException("transactionId must be a string")
        return _Target(resource_arn, database, transaction_id or None, login)

    def _transaction_request(self, request: Mapping[str, Any]) -> tuple[str, str, Login | None]:
        self._transactions.expire()
        resource_arn, login = self._check_arns(request)
        return resource_arn, _required_str(request, "transactionId"), login

    def _check_arns(self, request: Mapping[str, Any]) -> tuple[str, Login | None]:
        """The cluster the call names, and whom it runs as (its secret's user; None: the master user)."""
        resource_arn = _required_str(request, "resourceArn")
        secret_arn = _required_str(request, "secretArn")
        if self._cluster_arns is not None and resource_arn not in self._cluster_arns:
            raise HttpEndpointNotEnabledException(f"HttpEndpoint is not enabled for resource {resource_arn}")
        if self._secret_arns is not None and secret_arn not in self._secret_arns:
            raise SecretsErrorException(f"The secret {secret_arn} wasn't found")
        return resource_arn, self._logins(secret_arn)

    # -- running statements ----------------------------------------------------------------------------

    def _run(self, target: _Target, work: Callable[[Connection], T], *, continue_after_timeout: bool) -> T:
        """Run `work` on the target's connection on a worker thread, within the call's time limit."""
        holder = _Holder()
        future: Future[T] = Future()

        def worker() -> None:
            try:
                with self._connection(target) as (connection, transaction):
                    with holder.lock:
                        if holder.abandoned and not continue_after_timeout:
                            return  # the call already answered StatementTimeoutException: never run late
                        holder.connection = connection
                    future.set_result(self._guarded(work, connection, transaction))
            except BaseException as error:
                future.set_exception(error)

        threading.Thread(target=worker, name="data-api-statement", daemon=True).start()
        try:
            return future.result(timeout=self._statement_timeout)
        except FutureTimeoutError:
            with holder.lock:
                holder.abandoned = True
                connection = holder.connection
            if connection is not None and not continue_after_timeout:
                connection.cancel_safe()
            backend_pid = connection.info.backend_pid if connection is not None else 0
            raise StatementTimeoutException("Request timed out", db_connection_id=backend_pid) from None

    @staticmethod
    def _guarded(work: Callable[[Connection], T], connection: Connection, transaction: Transaction | None) -> T:
        try:
            return work(connection)
        except psycopg.Error as error:
            failure = database_error(error)
            if transaction is not None and transaction.failure is None:
                transaction.failure = postgres_message(error)
            raise failure from error

    @contextmanager
    def _connection(self, target: _Target) -> Iterator[tuple[Connection, Transaction | None]]:
        if target.transaction_id is not None:
            with self._transactions.use(
                target.transaction_id, target.resource_arn, TransactionNotFoundException, target.login
            ) as transaction:
                yield transaction.connection, transaction
            return
        try:
            connection = self._pool.acquire(target.database, target.login)
        except psycopg.OperationalError as error:
            raise _connection_error(error) from error
        try:
            yield connection, None
        finally:
            self._pool.release(connection, target.database, target.login)

    # -- results ---------------------------------------------------------------------------------------

    def _statement_response(
        self, connection: Connection, database: str, cursor: psycopg.Cursor[Any], shape: _ResultShape
    ) -> dict[str, Any]:
        result = cursor.pgresult
        if cursor.description is None or result is None:
            return {"numberOfRecordsUpdated": max(cursor.rowcount, 0), "generatedFields": []}
        columns = range(result.nfields)
        oids = [result.ftype(i) for i in columns]
        types = self._types.lookup(connection, database, oids)
        readers = [ColumnReader.for_type(types.get(oid), types, shape.options) for oid in oids]
        rows = [[result.get_value(row, i) for i in columns] for row in range(result.ntuples)]
        labels = [(result.fname(i) or b"").decode() for i in columns]
        response: dict[str, Any] = {"numberOfRecordsUpdated": 0}
        if shape.as_json:
            formatted = json.dumps(
                [
                    {label: reader.json_value(raw) for label, reader, raw in zip(labels, readers, row, strict=True)}
                    for row in rows
                ]
            )
            _check_size(len(formatted), MAX_FORMATTED_RECORDS_BYTES)
            response["formattedRecords"] = formatted
            return response
        records = [[reader.field(raw) for reader, raw in zip(readers, row, strict=True)] for row in rows]
        _check_size(len(json.dumps(records)), MAX_RECORDS_BYTES)
        response["records"] = records
        if shape.include_metadata:
            sources = source_columns(connection, [(result.ftable(i), result.ftablecol(i)) for i in columns])
            response["columnMetadata"] = [
                column_metadata(
                    labels[i],
                    types.get(oids[i]),
                    result.fmod(i),
                    sources.get((result.ftable(i), result.ftablecol(i))),
                    types.get(t.element_oid) if (t := types.get(oids[i])) else None,
                )
                for i in columns
            ]
        return response

    def _generated_fields(
        self, connection: Connection, database: str, cursor: psycopg.Cursor[Any], options: ResultOptions
    ) -> list[dict[str, Any]]:
        """A batch row's generated fields: for PostgreSQL, the first row its RETURNING clause returned."""
        result = cursor.pgresult
        if cursor.description is None or result is None or result.ntuples == 0:
            return []
        oids = [result.ftype(i) for i in range(result.nfields)]
        types = self._types.lookup(connection, database, oids)
        return [
            ColumnReader.for_type(types.get(oid), types, options).field(result.get_value(0, i))
            for i, oid in enumerate(oids)
        ]


@dataclass(frozen=True)
class _ResultShape:
    include_metadata: bool
    as_json: bool
    options: ResultOptions


def _check_size(size: int, limit: int) -> None:
    if size > limit:
        raise BadRequestException("Database returned more than the allowed response size limit")


def _required_str(request: Mapping[str, Any], name: str) -> str:
    value = request.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequestException(f"{name} must be specified")
    return value


def _list(request: Mapping[str, Any], name: str) -> list[Any]:
    value = request.get(name) or []
    if not isinstance(value, list):
        raise BadRequestException(f"{name} must be a list")
    return value


def _connection_error(error: psycopg.OperationalError) -> DataApiError:
    """A connection refused by the server (unknown database, ...) is the caller's; an unreachable one is not."""
    message = str(error)
    if "FATAL:" in message:
        return BadRequestException("FATAL: " + message.split("FATAL:", 1)[1].strip())
    return DatabaseUnavailableException()
