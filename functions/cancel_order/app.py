"""POST /admin/orders/{orderId}/cancel: an order not paid yet is CANCELLED.

Cancelling a PAID order refunds the payment: that moves money and belongs to the checkout and payments
flow, which serves it later. Until then a PAID order answers 409 INVALID_TRANSITION here, as every
status that cannot be cancelled does (see `cancel_unpaid_order`).
"""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from commerce.adapters.orders_db.orders import order_repository
from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.api.http import create_app, json_response
from commerce.api.operators import require_operator
from commerce.domain.orders.service import cancel_unpaid_order
from commerce.domain.orders.views import Audience, order_json
from commerce.observability import logger, metrics, tracer
from commerce.settings import load_settings

settings = load_settings(OrdersDbSettings)
app = create_app()


@app.post("/admin/orders/<order_id>/cancel")
@tracer.capture_method
def cancel(order_id: str) -> Response[str]:
    operator = require_operator(app)
    repository = order_repository(settings, app.lambda_context)
    order = cancel_unpaid_order(repository, order_id, actor=f"operator:{operator}")
    metrics.add_metric(name="OrderCancelled", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()  # here rather than @log_metrics, which warns on every refused request
    return json_response(200, order_json(order, Audience.OPERATOR))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
