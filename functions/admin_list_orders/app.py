"""GET /admin/orders: every order, newest first; filters `status`, `email`, `createdFrom`, `createdTo`."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from commerce.adapters.orders_db.orders import order_repository
from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.api.http import create_app, json_response
from commerce.api.operators import require_operator
from commerce.api.pagination import PageQuery, decode_cursor, encode_cursor, page_json, parse_query
from commerce.domain.orders.models import OrderPosition
from commerce.domain.orders.schemas import OrderSearchFilters
from commerce.domain.orders.service import search_orders
from commerce.domain.orders.views import Audience, order_json
from commerce.observability import logger, tracer
from commerce.settings import load_settings


class OrderSearchQuery(PageQuery, OrderSearchFilters):
    """`limit`, `cursor`, `status`, `email`, `createdFrom`, `createdTo`; anything else is a 400."""


settings = load_settings(OrdersDbSettings)
app = create_app()


@app.get("/admin/orders")
@tracer.capture_method
def list_all_orders() -> Response[str]:
    require_operator(app)
    query = parse_query(app, OrderSearchQuery)
    scope = query.cursor_scope()
    after = OrderPosition.from_fields(decode_cursor(query.cursor, scope))
    page = search_orders(order_repository(settings, app.lambda_context), query.criteria(), query.limit, after)
    next_cursor = encode_cursor(page.next_position.to_fields() if page.next_position else None, scope)
    return json_response(200, page_json([order_json(o, Audience.OPERATOR) for o in page.orders], next_cursor))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
