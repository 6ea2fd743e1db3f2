"""GET /products/{productId}: one product with its sellable variants and how many units each has available."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.dynamodb.catalog import DynamoDbCatalog
from commerce.api.http import create_app, json_response
from commerce.domain.catalog.service import get_product
from commerce.domain.catalog.views import public_product
from commerce.observability import logger, tracer
from commerce.settings import FunctionSettings, load_settings


class Settings(FunctionSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)


settings = load_settings(Settings)
app = create_app()


@app.get("/products/<product_id>")
@tracer.capture_method
def get_public_product(product_id: str) -> Response[str]:
    product = get_product(DynamoDbCatalog(settings.table_name), product_id)
    return json_response(200, public_product(product))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
