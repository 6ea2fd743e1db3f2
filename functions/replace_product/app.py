"""PUT /admin/products/{productId}: an operator replaces a product; SKUs it drops are retired, not deleted."""

from datetime import UTC, datetime

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.dynamodb.catalog import DynamoDbCatalog
from commerce.api.http import create_app, json_response, parse_body
from commerce.api.operators import require_operator
from commerce.domain.catalog.schemas import ProductBody
from commerce.domain.catalog.service import replace_product
from commerce.domain.catalog.views import admin_product
from commerce.observability import logger, metrics, tracer
from commerce.settings import FunctionSettings, load_settings


class Settings(FunctionSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)


settings = load_settings(Settings)
app = create_app()


@app.put("/admin/products/<product_id>")
@tracer.capture_method
def replace_catalog_product(product_id: str) -> Response[str]:
    operator = require_operator(app)
    spec = parse_body(app, ProductBody).to_spec()
    product = replace_product(DynamoDbCatalog(settings.table_name), product_id, spec, now=datetime.now(UTC))
    metrics.add_metric(name="ProductReplaced", unit=MetricUnit.Count, value=1)
    logger.info(
        "product replaced",
        extra={"product_id": product_id, "retired_skus": product.retired_skus, "operator": operator},
    )
    return json_response(200, admin_product(product))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
