"""GET /products: the public catalog by name, sellable variants only; filters `category` and `q` (name prefix)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.dynamodb.catalog import DynamoDbCatalog
from commerce.api.http import create_app, json_response
from commerce.api.pagination import PageQuery, decode_cursor, encode_cursor, page_json, parse_query
from commerce.domain.catalog.models import CatalogPosition
from commerce.domain.catalog.schemas import ProductFilters
from commerce.domain.catalog.service import list_products
from commerce.domain.catalog.views import public_product
from commerce.observability import logger, tracer
from commerce.settings import FunctionSettings, load_settings


class Settings(FunctionSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)


class ProductListQuery(PageQuery, ProductFilters):
    """`limit`, `cursor`, `category`, `q`; anything else is a 400."""


settings = load_settings(Settings)
app = create_app()


@app.get("/products")
@tracer.capture_method
def list_public_products() -> Response[str]:
    query = parse_query(app, ProductListQuery)
    scope = query.cursor_scope()
    after = CatalogPosition.from_fields(decode_cursor(query.cursor, scope))
    page = list_products(DynamoDbCatalog(settings.table_name), query.criteria(), limit=query.limit, after=after)
    next_cursor = encode_cursor(page.next_position.to_fields() if page.next_position else None, scope)
    return json_response(200, page_json([public_product(p) for p in page.items], next_cursor))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
