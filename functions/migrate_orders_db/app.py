"""Custom resource `OrdersDbSchema`: apply the versioned migrations to the orders database at deploy.

The migrations ship with this function: `migrations` here is a link to db/migrations, which `sam build`
and `make package` copy into the function's artifact as plain files. The resource's `MigrationsChecksum`
property is the fingerprint of those files (tests/unit/test_orders_migrations_template.py keeps it in
step), so every deploy that changes a migration updates the resource and runs this function again;
already applied migrations are skipped. Then the reader role's password (migration 0004's
`commerce_reader`) is set from `OrdersDbReaderSecret`, read afresh each run, so the role and its secret
agree after every run (commerce.adapters.orders_db.reader). Delete is a no-op: the data outlives the
migrations.
"""

from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.orders_db.client import rds_data_client
from commerce.adapters.orders_db.custom_resource import CustomResourceRequest, answer_custom_resource
from commerce.adapters.orders_db.data_api import DataApi
from commerce.adapters.orders_db.migrations import apply_migrations, load_migrations, migrations_checksum
from commerce.adapters.orders_db.reader import set_reader_password
from commerce.adapters.orders_db.retry import RetryBudget
from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.adapters.secrets import secretsmanager_client
from commerce.observability import logger
from commerce.settings import load_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
PHYSICAL_RESOURCE_ID = "orders-db-schema"


class MigrateSettings(OrdersDbSettings):
    # The reader's credentials (OrdersDbReaderSecret): this function sets the role's password from them.
    orders_db_reader_secret_arn: str = Field(alias="ORDERS_DB_READER_SECRET_ARN", min_length=3)


def migrate(request: CustomResourceRequest, context: LambdaContext) -> dict[str, str]:
    # Settings are read here, not at import: a bad variable must still be answered as FAILED.
    settings = load_settings(MigrateSettings)
    checksum = migrations_checksum(load_migrations(MIGRATIONS_DIR))
    if request.properties.get("MigrationsChecksum") != checksum:
        logger.warning("template's MigrationsChecksum differs from the shipped migrations", extra={"files": checksum})
    client = rds_data_client()
    applied = apply_migrations(
        client,
        settings.orders_db_cluster_arn,
        settings.orders_db_secret_arn,
        settings.orders_db_name,
        MIGRATIONS_DIR,
        # Leave time to answer CloudFormation after waiting for an auto-paused cluster.
        budget=lambda: RetryBudget.for_lambda(context, reserve_seconds=20),
    )
    # Not cached: a rotated secret must reach the role on the next run.
    reader_secret = secretsmanager_client().get_secret_value(SecretId=settings.orders_db_reader_secret_arn)
    reader = set_reader_password(
        DataApi(
            client,
            settings.orders_db_cluster_arn,
            settings.orders_db_secret_arn,
            settings.orders_db_name,
            budget=lambda: RetryBudget.for_lambda(context, reserve_seconds=20),
        ),
        reader_secret["SecretString"],
    )
    logger.info("reader password set from its secret", extra={"role": reader})
    return {"Applied": ",".join(applied) or "none", "MigrationsChecksum": checksum, "Reader": reader}


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    answer_custom_resource(event, context, lambda request: migrate(request, context), PHYSICAL_RESOURCE_ID)
