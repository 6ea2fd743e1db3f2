"""Shared helpers (no tests) for the orders tests: one PostgreSQL and one local Data API per test process.

Starting PostgreSQL costs seconds, so each process (each pytest-xdist worker) starts one, on first use,
and stops it at exit. Tests reach it the real way: boto3's `rds-data` client -> the local cloud's edge
(`localcloud.edge.EdgeApp` with the Data API interceptor) -> PostgreSQL. Each test module (or test) that
needs isolation gets a database of its own, migrated through the Data API by the project's own runner.
Direct SQL (psycopg) is only for what the Data API does not show: EXPLAIN, and proving what is stored.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import psycopg
from botocore.config import Config
from psycopg.conninfo import make_conninfo

from commerce.adapters.orders_db.data_api import DataApi
from commerce.adapters.orders_db.migrations import apply_migrations
from commerce.adapters.orders_db.orders import DataApiOrderRepository
from commerce.adapters.orders_db.reader import READER_ROLE, set_reader_password
from commerce.adapters.orders_db.retry import RetryBudget
from localcloud.edge import EdgeApp
from localcloud.orders_db import DataApiApp, EmbeddedPostgres, Login, is_data_api
from localcloud.server import BackgroundServer

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "db" / "migrations"
CLUSTER_ARN = "arn:aws:rds:us-east-1:123456789012:cluster:commerce-orders"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:commerce-orders-AbCdEf"
ADMIN_DATABASE = "commerce"
# The read-only user's secret (template.yaml: OrdersDbReaderSecret), as the local Data API resolves it; the
# master user's (SECRET_ARN) runs as the server's own user.
READER_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:commerce-orders-reader-GhIjKl"
READER_PASSWORD = "ReaderPassword0123456789abcdefgh"  # a test database's
READER_SECRET_STRING = json.dumps({"username": READER_ROLE, "password": READER_PASSWORD})


def rds_data_client(url: str) -> Any:
    """boto3's own rds-data client for the local edge; no botocore retries, as the functions configure it."""
    return boto3.client(
        "rds-data",
        endpoint_url=url,
        region_name="us-east-1",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, max_pool_connections=20),
    )


@dataclass
class OrdersCloud:
    postgres: EmbeddedPostgres
    app: DataApiApp
    server: BackgroundServer
    workdir: Path
    _client: Any = field(default=None, init=False)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = rds_data_client(self.url)
        return self._client

    def conninfo(self, database: str) -> str:
        return make_conninfo(self.postgres.conninfo, dbname=database)

    def new_database(self, prefix: str = "orders") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.conninfo(ADMIN_DATABASE), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return name

    def migrated_database(self, prefix: str = "orders") -> str:
        name = self.new_database(prefix)
        apply_migrations(self.client, CLUSTER_ARN, SECRET_ARN, name, MIGRATIONS)
        set_reader_password(self.data_api(name), READER_SECRET_STRING)  # as the migration function does
        return name

    def data_api(self, database: str, budget: Callable[[], RetryBudget] | None = None) -> DataApi:
        return DataApi(self.client, CLUSTER_ARN, SECRET_ARN, database, budget)

    def repository(self, database: str) -> DataApiOrderRepository:
        return DataApiOrderRepository(self.data_api(database))

    def reader_data_api(self, database: str) -> DataApi:
        """The Data API as the reader functions reach it: logged in as commerce_reader."""
        return DataApi(self.client, CLUSTER_ARN, READER_SECRET_ARN, database)

    def sql(self, database: str) -> psycopg.Connection[Any]:
        """A direct connection (autocommit), for EXPLAIN and for checking what is stored."""
        return psycopg.connect(self.conninfo(database), autocommit=True)

    def close(self) -> None:
        self.server.stop()
        self.app.close()
        self.postgres.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@cache
def orders_cloud() -> OrdersCloud:
    """This process's PostgreSQL behind a local Data API edge, started on first use and stopped at exit."""
    workdir = Path(tempfile.mkdtemp(prefix="orders-tests-"))
    postgres = EmbeddedPostgres(workdir / "postgres", database=ADMIN_DATABASE)
    postgres.start()
    readers = {READER_SECRET_ARN: Login(READER_ROLE, READER_PASSWORD)}
    app = DataApiApp(postgres.conninfo, database=ADMIN_DATABASE, resuming_seconds=0, logins=readers.get)
    edge = EdgeApp()
    edge.intercept(is_data_api, app)
    server = BackgroundServer(edge, name="orders-data-api").start()
    cloud = OrdersCloud(postgres=postgres, app=app, server=server, workdir=workdir)
    atexit.register(cloud.close)
    return cloud
