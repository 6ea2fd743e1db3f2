"""The local cloud's orders database: PostgreSQL standing in for Aurora, reached through a local RDS Data API.

- `postgres`: the server's lifecycle (`EmbeddedPostgres`, `ExternalPostgres`, `orders_database`).
- `data_api`: the Data API as a WSGI app for the edge (`DataApiApp`, `is_data_api`); each call logs in as its
  secret's user (`Login`), the master user's secret as the server's own user.
"""

from localcloud.orders_db.connections import Login
from localcloud.orders_db.data_api import RESUMING_SECONDS_ENV, DataApiApp, is_data_api
from localcloud.orders_db.postgres import (
    DEFAULT_DATABASE,
    POSTGRES_URL_ENV,
    EmbeddedPostgres,
    ExternalPostgres,
    OrdersDatabase,
    PostgresError,
    orders_database,
)

__all__ = [
    "DEFAULT_DATABASE",
    "POSTGRES_URL_ENV",
    "RESUMING_SECONDS_ENV",
    "DataApiApp",
    "EmbeddedPostgres",
    "ExternalPostgres",
    "Login",
    "OrdersDatabase",
    "PostgresError",
    "is_data_api",
    "orders_database",
]
