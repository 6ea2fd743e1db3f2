"""PUT /admin/inventory/{sku}: an operator sets on-hand units (never below what checkouts have reserved), and
optionally the number of counter shards and the per-buyer purchase limit."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.api.http import create_app, json_response, parse_body
from commerce.api.operators import require_operator
from commerce.domain.inventory.errors import BelowReserved
from commerce.domain.inventory.schemas import StockBody
from commerce.domain.inventory.service import set_stock
from commerce.observability import logger, metrics, tracer
from commerce.settings import FunctionSettings, load_settings


class Settings(FunctionSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)


settings = load_settings(Settings)
app = create_app()


@app.put("/admin/inventory/<sku>")
@tracer.capture_method
def set_sku_on_hand(sku: str) -> Response[str]:
    operator = require_operator(app)
    body = parse_body(app, StockBody)
    try:
        stock = set_stock(DynamoDbStockLedger(settings.table_name), sku, body.settings())
    except BelowReserved:
        # Counted, not handled: the problem+json mapping answers 409 as for every domain error.
        metrics.add_metric(name="StockConflict", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="OnHandSet", unit=MetricUnit.Count, value=1)
    logger.info(
        "stock set",
        extra={"sku": sku, "on_hand": stock.on_hand, "shards": stock.shards, "operator": operator},
    )
    return json_response(200, stock.to_json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
