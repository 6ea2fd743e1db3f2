"""POST /admin/orders/{orderId}/cancel: an order not paid yet is CANCELLED; a PAID one moves to REFUND_PENDING,
then to CANCELLED once the payment provider has accepted its refund (idempotency key `refund-<orderId>`), and its
units go back on the shelf, once. Any other status is 409 INVALID_TRANSITION; a provider that cannot answer is
503 PAYMENT_PROVIDER_UNAVAILABLE. How: commerce.domain.payments.refunds.
"""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from commerce.api.http import create_app, json_response
from commerce.api.money_back import MoneyBackActions
from commerce.api.operators import require_operator
from commerce.domain.orders.views import Audience, order_json
from commerce.observability import count, logger, tracer

money_back = MoneyBackActions()
app = create_app()


@app.post("/admin/orders/<order_id>/cancel")
@tracer.capture_method
def cancel(order_id: str) -> Response[str]:
    operator = require_operator(app)
    order = money_back.cancel(app.lambda_context, order_id, actor=f"operator:{operator}")
    count("OrderCancelled")
    return json_response(200, order_json(order, Audience.OPERATOR))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
