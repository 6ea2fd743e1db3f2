"""POST /admin/orders/{orderId}/refund: a PAID or FULFILLED order is REFUNDED once the payment provider has
accepted the refund (idempotency key `refund-<orderId>`); a PAID order's units go back on the shelf, once.
Any other status is 409 INVALID_TRANSITION. How: commerce.domain.payments.refunds.
"""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.payments import DynamoDbPaymentRecords
from commerce.adapters.orders_db.orders import order_repository
from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.adapters.payments import PaymentsSettings, StripePayments
from commerce.api.http import create_app, json_response
from commerce.api.operators import require_operator
from commerce.domain.orders.views import Audience, order_json
from commerce.domain.payments.refunds import MoneyBack, refund_order
from commerce.observability import logger, metrics, tracer
from commerce.settings import load_settings


class Settings(OrdersDbSettings, PaymentsSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)


settings = load_settings(Settings)
checkouts = DynamoDbCheckouts(settings.table_name)
records = DynamoDbPaymentRecords(settings.table_name)
provider = StripePayments.from_settings(settings, network_retries=2)
app = create_app()


@app.post("/admin/orders/<order_id>/refund")
@tracer.capture_method
def refund(order_id: str) -> Response[str]:
    operator = require_operator(app)
    deps = MoneyBack(order_repository(settings, app.lambda_context), checkouts, lambda: provider, records)
    order = refund_order(deps, order_id, actor=f"operator:{operator}")
    metrics.add_metric(name="OrderRefunded", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()  # here rather than @log_metrics, which warns on every refused request
    return json_response(200, order_json(order, Audience.OPERATOR))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
