"""GET /orders: the caller's own orders (a guest session's and/or a signed-in customer's), newest first."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from commerce.adapters.orders_db.orders import order_repository
from commerce.api.http import create_app, json_response
from commerce.api.order_owners import OrderReaderSettings, order_owner
from commerce.api.pagination import PageQuery, decode_cursor, encode_cursor, page_json, parse_query
from commerce.domain.orders.models import OrderPosition
from commerce.domain.orders.service import list_own_orders
from commerce.domain.orders.views import Audience, order_json
from commerce.observability import logger, tracer
from commerce.settings import load_settings

settings = load_settings(OrderReaderSettings)
app = create_app()


@app.get("/orders")
@tracer.capture_method
def list_my_orders() -> Response[str]:
    owner = order_owner(app, settings)
    query = parse_query(app, PageQuery)
    scope = f"orders\x1f{owner.session_id or ''}\x1f{owner.customer_id or ''}"
    after = OrderPosition.from_fields(decode_cursor(query.cursor, scope))
    page = list_own_orders(order_repository(settings, app.lambda_context), owner, query.limit, after)
    next_cursor = encode_cursor(page.next_position.to_fields() if page.next_position else None, scope)
    return json_response(200, page_json([order_json(o, Audience.CUSTOMER) for o in page.orders], next_cursor))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
