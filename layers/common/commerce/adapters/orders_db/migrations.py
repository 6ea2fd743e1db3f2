"""Versioned SQL migrations (db/migrations/NNNN_name.sql), applied through the Data API.

- Files apply in version order, each in its own transaction (PostgreSQL DDL is transactional): a failing
  migration leaves nothing behind, and the ones before it stay applied.
- `schema_migrations` records each applied version with its file's checksum. A second run applies
  nothing. A changed file that was already applied is refused (`MigrationChanged`): applied migrations
  are history; a change is a new file.
- An advisory lock serialises concurrent runners (two deploys, or a deploy and the local cloud's start):
  each re-checks, under the lock, whether its migration is still to apply.
- Each file is split into statements (`sql_script`), because the Data API runs one statement per call.

Callers: the migration function behind the stack's custom resource (functions/migrate_orders_db), and the
local cloud at start (`apply_migrations`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from commerce.adapters.orders_db.data_api import DataApi, Transaction
from commerce.adapters.orders_db.errors import StatementFailed
from commerce.adapters.orders_db.retry import RetryBudget
from commerce.adapters.orders_db.sql_script import split_statements
from commerce.observability import logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_rds_data import RDSDataServiceClient

MIGRATION_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
# Any constant will do, as long as every runner uses the same: the key of pg_advisory_xact_lock.
ADVISORY_LOCK_KEY = 7_270_111_900_401

CREATE_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text        NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""
LOCK = "SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(:key)) AS held"
APPLIED = "SELECT version, checksum FROM schema_migrations ORDER BY version"
APPLIED_ONE = "SELECT checksum FROM schema_migrations WHERE version = :version"
RECORD = "INSERT INTO schema_migrations (version, name, checksum) VALUES (:version, :name, :checksum)"


class MigrationError(Exception):
    """The migrations could not be applied; the message says which file and why."""


class MigrationChanged(MigrationError):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.version}_{self.name}.sql"


def load_migrations(directory: Path) -> list[Migration]:
    """Every `NNNN_name.sql` in `directory`, in version order. Other names and duplicate versions are errors."""
    migrations: dict[str, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_FILE.fullmatch(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_lower_snake_name.sql")
        version = match["version"]
        if version in migrations:
            raise MigrationError(f"{path.name}: version {version} is also {migrations[version].filename}")
        migrations[version] = Migration(version, match["name"], path.read_text(encoding="utf-8"))
    if not migrations:
        raise MigrationError(f"no migrations in {directory}")
    return [migrations[version] for version in sorted(migrations)]


def migrations_checksum(migrations: Sequence[Migration]) -> str:
    """One short fingerprint of every migration's name and content: the custom resource's trigger property."""
    digest = hashlib.sha256()
    for migration in migrations:
        digest.update(f"{migration.filename}\x00{migration.checksum}\n".encode())
    return digest.hexdigest()[:16]


def apply_migrations(
    client: RDSDataServiceClient,
    cluster_arn: str,
    secret_arn: str,
    database: str,
    migrations_dir: Path,
    budget: Callable[[], RetryBudget] | None = None,
) -> list[str]:
    """Apply the migrations in `migrations_dir` not applied yet; the versions applied by this call."""
    db = DataApi(client, cluster_arn, secret_arn, database, budget)
    return MigrationRunner(db).apply(load_migrations(migrations_dir))


class MigrationRunner:
    def __init__(self, db: DataApi) -> None:
        self._db = db

    def apply(self, migrations: Sequence[Migration]) -> list[str]:
        self._ensure_schema_migrations()
        applied = {row["version"]: row["checksum"] for row in self._db.execute(APPLIED)}
        known = {m.version: m for m in migrations}
        for version, checksum in applied.items():
            if version in known and known[version].checksum != checksum:
                raise MigrationChanged(
                    f"{known[version].filename} changed after it was applied; put the change in a new migration"
                )
            if version not in known:
                # A newer deployment's migration (a rollback of the code): the schema only ever grows compatibly.
                logger.warning("database has a migration this code does not know", extra={"version": version})
        done = []
        for migration in migrations:
            if migration.version not in applied and self._apply(migration):
                done.append(migration.version)
        return done

    def applied_versions(self) -> list[str]:
        return [row["version"] for row in self._db.execute(APPLIED)]

    def _ensure_schema_migrations(self) -> None:
        # Two runners creating the table at once could collide even with IF NOT EXISTS: take the lock first.
        with self._db.transaction() as tx:
            self._lock(tx)
            tx.execute_update(CREATE_SCHEMA_MIGRATIONS)

    def _apply(self, migration: Migration) -> bool:
        """Apply one migration in one transaction; False when another runner applied it meanwhile."""
        statements = split_statements(migration.sql)
        with self._db.transaction() as tx:
            self._lock(tx)
            already = tx.execute(APPLIED_ONE, {"version": migration.version})
            if already:
                if already[0]["checksum"] != migration.checksum:
                    raise MigrationChanged(f"{migration.filename} was applied with different content")
                return False
            for number, statement in enumerate(statements, start=1):
                try:
                    tx.execute_update(statement)
                except StatementFailed as error:
                    raise MigrationError(
                        f"{migration.filename}, statement {number} of {len(statements)}: {error.detail}"
                    ) from error
            tx.execute_update(
                RECORD, {"version": migration.version, "name": migration.name, "checksum": migration.checksum}
            )
        logger.info("migration applied", extra={"version": migration.version, "migration": migration.filename})
        return True

    @staticmethod
    def _lock(tx: Transaction) -> None:
        tx.execute(LOCK, {"key": ADVISORY_LOCK_KEY})
