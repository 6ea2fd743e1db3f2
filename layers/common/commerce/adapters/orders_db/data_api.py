"""One database of one Aurora cluster, reached through the RDS Data API: statements, batches, transactions.

Every call goes through `_call`, which retries what did not run because the cluster is resuming (see
`retry`) and translates every other Data API error (see `errors`). Statements take named parameters
(`:name`) as plain Python values (see `parameters`) and answer rows of plain values (see `results`).

A transaction is `with db.transaction() as tx: tx.execute(...)`: BeginTransaction, the statements with its
id, then CommitTransaction, or RollbackTransaction when anything raised inside the block (a rollback that
fails is logged, and the original error is raised: the Data API drops an abandoned transaction anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from commerce.adapters.orders_db.errors import is_resuming, translate
from commerce.adapters.orders_db.parameters import sql_parameters
from commerce.adapters.orders_db.results import Row, rows_of
from commerce.adapters.orders_db.retry import RetryBudget
from commerce.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_rds_data import RDSDataServiceClient

T = TypeVar("T")

# Without a budget (scripts, the local cloud's start), wait as long as a resume plausibly takes.
DEFAULT_BUDGET_SECONDS = 60.0


class DataApi:
    def __init__(
        self,
        client: RDSDataServiceClient,
        cluster_arn: str,
        secret_arn: str,
        database: str,
        budget: Callable[[], RetryBudget] | None = None,
    ) -> None:
        self._client = client
        self._target = {"resourceArn": cluster_arn, "secretArn": secret_arn}
        self._database = database
        # Called when a call first meets a resuming cluster: for a Lambda, the invocation's remaining time.
        self._budget = budget or (lambda: RetryBudget(DEFAULT_BUDGET_SECONDS))

    @property
    def database(self) -> str:
        return self._database

    def execute(
        self, sql: str, parameters: Mapping[str, Any] | None = None, *, transaction_id: str | None = None
    ) -> list[Row]:
        """Run one statement; its result rows (empty for statements without a result set)."""
        response = self._statement(sql, parameters, transaction_id)
        return rows_of(response) if "columnMetadata" in response else []

    def execute_update(
        self, sql: str, parameters: Mapping[str, Any] | None = None, *, transaction_id: str | None = None
    ) -> int:
        """Run one statement; how many rows it changed."""
        return int(self._statement(sql, parameters, transaction_id).get("numberOfRecordsUpdated", 0))

    def batch_execute(
        self, sql: str, parameter_sets: Sequence[Mapping[str, Any]], *, transaction_id: str | None = None
    ) -> None:
        """Run one statement once per parameter set, in one call (all or nothing outside a transaction)."""
        if not parameter_sets:
            return
        kwargs: dict[str, Any] = {
            **self._target,
            "database": self._database,
            "sql": sql,
            "parameterSets": [sql_parameters(values) for values in parameter_sets],
        }
        if transaction_id is not None:
            kwargs["transactionId"] = transaction_id
        self._call(lambda: self._client.batch_execute_statement(**kwargs))

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        transaction_id = self._call(
            lambda: self._client.begin_transaction(**self._target, database=self._database)["transactionId"]
        )
        try:
            yield Transaction(self, transaction_id)
        except BaseException:
            self._rollback(transaction_id)
            raise
        self._call(lambda: self._client.commit_transaction(**self._target, transactionId=transaction_id))

    # ---------------------------------------------------------------------------------------------- internals

    def _statement(self, sql: str, parameters: Mapping[str, Any] | None, transaction_id: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            **self._target,
            "database": self._database,
            "sql": sql,
            "parameters": sql_parameters(parameters),
            "includeResultMetadata": True,
        }
        if transaction_id is not None:
            kwargs["transactionId"] = transaction_id
        return dict(self._call(lambda: self._client.execute_statement(**kwargs)))

    def _call(self, operation: Callable[[], T]) -> T:
        budget: RetryBudget | None = None
        attempt = 0
        while True:
            try:
                return operation()
            except ClientError as error:
                if not is_resuming(error):
                    raise translate(error) from error
                budget = budget or self._budget()
                logger.info("orders database resuming; retrying", extra={"attempt": attempt + 1})
                budget.wait_before_retry(attempt)
                attempt += 1

    def _rollback(self, transaction_id: str) -> None:
        try:
            self._client.rollback_transaction(**self._target, transactionId=transaction_id)
        except ClientError:
            logger.warning("rollback failed; the Data API drops the transaction when it expires", exc_info=True)


class Transaction:
    """Statements inside one open transaction of `DataApi.transaction()`."""

    def __init__(self, db: DataApi, transaction_id: str) -> None:
        self._db = db
        self.transaction_id = transaction_id

    def execute(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[Row]:
        return self._db.execute(sql, parameters, transaction_id=self.transaction_id)

    def execute_update(self, sql: str, parameters: Mapping[str, Any] | None = None) -> int:
        return self._db.execute_update(sql, parameters, transaction_id=self.transaction_id)

    def batch_execute(self, sql: str, parameter_sets: Sequence[Mapping[str, Any]]) -> None:
        self._db.batch_execute(sql, parameter_sets, transaction_id=self.transaction_id)
