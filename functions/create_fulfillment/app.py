"""POST /admin/orders/{orderId}/fulfillments: some of a paid order's units shipped (201 with the fulfilment);
the order moves to PARTIALLY_FULFILLED, or FULFILLED with the last units. More than is left to ship is 409
OVER_FULFILLED; an optional `Idempotency-Key` makes a retried request answer the same fulfilment."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from commerce.adapters.orders_db.orders import order_repository
from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.api.http import create_app, json_response, parse_body
from commerce.api.operators import require_operator
from commerce.domain.checkout.errors import IDEMPOTENCY_KEY_HEADER
from commerce.domain.checkout.schemas import optional_idempotency_key
from commerce.domain.orders.fulfilments import fulfil
from commerce.domain.orders.schemas import FulfilmentBody
from commerce.domain.orders.views import fulfilment_json
from commerce.observability import count, logger, tracer
from commerce.settings import load_settings

settings = load_settings(OrdersDbSettings)
app = create_app()


@app.post("/admin/orders/<order_id>/fulfillments")
@tracer.capture_method
def create_fulfillment(order_id: str) -> Response[str]:
    operator = require_operator(app)
    body = parse_body(app, FulfilmentBody)
    order, fulfilment = fulfil(
        order_repository(settings, app.lambda_context),
        order_id,
        body.fulfilment_lines(),
        f"operator:{operator}",
        carrier=body.carrier,
        tracking_number=body.tracking_number,
        idempotency_key=optional_idempotency_key(app.current_event.headers.get(IDEMPOTENCY_KEY_HEADER)),
    )
    count("FulfillmentCreated")
    logger.info(
        "fulfilment recorded",
        extra={"order_id": order.order_id, "fulfillment_id": fulfilment.fulfilment_id, "status": order.status.value},
    )
    return json_response(201, {**fulfilment_json(fulfilment), "orderId": order.order_id, "status": order.status.value})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
