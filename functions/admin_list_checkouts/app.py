"""GET /admin/checkouts: every checkout, newest first; filters `status`, `createdFrom`, `createdTo`.
Read from the listing index (commerce.adapters.dynamodb.checkout_listing), never a scan."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.dynamodb.checkout_listing import DynamoDbCheckoutListing
from commerce.api.http import create_app, json_response
from commerce.api.operators import require_operator
from commerce.api.pagination import PageQuery, decode_cursor, encode_cursor, page_json, parse_query
from commerce.domain.checkout.listing import CheckoutListFilters, operator_view
from commerce.observability import logger, tracer
from commerce.settings import FunctionSettings, load_settings


class Settings(FunctionSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)


class CheckoutListQuery(PageQuery, CheckoutListFilters):
    """`limit`, `cursor`, `status`, `createdFrom`, `createdTo`; anything else is a 400."""


settings = load_settings(Settings)
listing = DynamoDbCheckoutListing(settings.table_name)
app = create_app()


@app.get("/admin/checkouts")
@tracer.capture_method
def list_all_checkouts() -> Response[str]:
    require_operator(app)
    query = parse_query(app, CheckoutListQuery)
    scope = query.cursor_scope()
    after = decode_cursor(query.cursor, scope)
    page = listing.page(query, query.limit, after["before"] if after and "before" in after else None)
    next_cursor = encode_cursor({"before": page.next_position} if page.next_position else None, scope)
    return json_response(200, page_json([operator_view(c.to_json()) for c in page.checkouts], next_cursor))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
