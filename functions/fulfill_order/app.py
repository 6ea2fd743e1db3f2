"""POST /admin/orders/{orderId}/fulfill: every unit left ships (one fulfilment): a PAID or PARTIALLY_FULFILLED order
becomes FULFILLED; any other status is 409."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from commerce.adapters.orders_db.orders import order_repository
from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.api.http import create_app, json_response
from commerce.api.operators import require_operator
from commerce.domain.orders.fulfilments import fulfill_order
from commerce.domain.orders.views import Audience, order_json
from commerce.observability import count, logger, tracer
from commerce.settings import load_settings

settings = load_settings(OrdersDbSettings)
app = create_app()


@app.post("/admin/orders/<order_id>/fulfill")
@tracer.capture_method
def fulfill(order_id: str) -> Response[str]:
    operator = require_operator(app)
    order = fulfill_order(order_repository(settings, app.lambda_context), order_id, actor=f"operator:{operator}")
    count("OrderFulfilled")
    return json_response(200, order_json(order, Audience.OPERATOR))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
