"""GET /admin/inventory/{sku}: a SKU's stock counters (on hand, reserved, available, summed over its shards),
read consistently, with its shard count and purchase limit."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.api.http import create_app, json_response
from commerce.api.operators import require_operator
from commerce.domain.inventory.service import get_stock
from commerce.observability import logger, tracer
from commerce.settings import FunctionSettings, load_settings


class Settings(FunctionSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)


settings = load_settings(Settings)
app = create_app()


@app.get("/admin/inventory/<sku>")
@tracer.capture_method
def get_sku_stock(sku: str) -> Response[str]:
    require_operator(app)
    stock = get_stock(DynamoDbStockLedger(settings.table_name), sku)
    return json_response(200, stock.to_json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
