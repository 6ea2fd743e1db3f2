"""GET /orders/{orderId}: one of the caller's own orders; anyone else's answers 404, as a missing one does."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from commerce.adapters.orders_db.orders import order_repository
from commerce.api.http import create_app, json_response
from commerce.api.order_owners import OrderReaderSettings, order_owner
from commerce.domain.orders.service import get_own_order
from commerce.domain.orders.views import Audience, order_json
from commerce.observability import logger, tracer
from commerce.settings import load_settings

settings = load_settings(OrderReaderSettings)
app = create_app()


@app.get("/orders/<order_id>")
@tracer.capture_method
def get_my_order(order_id: str) -> Response[str]:
    order = get_own_order(order_repository(settings, app.lambda_context), order_owner(app, settings), order_id)
    return json_response(200, order_json(order, Audience.CUSTOMER))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
