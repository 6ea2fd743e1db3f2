"""POST /webhooks/payments/stripe: Stripe's payment events, verified with its signature scheme (tolerance
300 s; the signing secret from `PaymentsWebhookSecret`, read once per container), deduplicated by event id,
safe in any order. Any verified event answers 200 `{"received": true}` (a duplicate or an ignored type too);
a body that does not verify answers 400 BAD_SIGNATURE. What each event changes: commerce.domain.payments.webhooks.
"""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.payments import DynamoDbPaymentRecords, DynamoDbWebhookLog
from commerce.adapters.events import EventBridgeEvents
from commerce.adapters.orders_db.orders import order_repository
from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.adapters.payments import PaymentsSettings, StripePayments, verified_event
from commerce.adapters.secrets import secret_string
from commerce.adapters.workflows import StepFunctionsTaskTokens
from commerce.api.http import create_app, json_response, raw_body
from commerce.domain.payments.errors import BadSignature
from commerce.domain.payments.webhooks import WebhookDeps, handle_payment_event
from commerce.observability import count, logger, metrics, refusals_counted, tracer
from commerce.settings import load_settings


class Settings(PaymentsSettings, OrdersDbSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    payments_webhook_secret_arn: str = Field(alias="PAYMENTS_WEBHOOK_SECRET_ARN", min_length=1)


settings = load_settings(Settings)
app = create_app()
deps = WebhookDeps(
    checkouts=DynamoDbCheckouts(settings.table_name),
    records=DynamoDbPaymentRecords(settings.table_name),
    tasks=StepFunctionsTaskTokens(),
    provider=StripePayments.from_settings(settings, network_retries=2),
    events=EventBridgeEvents(settings.event_bus_name),
    log=DynamoDbWebhookLog(settings.table_name),
    orders=lambda: order_repository(settings, app.lambda_context),  # refund failures move their order
)


@app.post("/webhooks/payments/stripe")
@tracer.capture_method
def receive_payment_event() -> Response[str]:
    with refusals_counted({BadSignature: "WebhookSignatureRejected"}):  # WebhookSignatureFailuresAlarm
        event = verified_event(
            raw_body(app),
            app.current_event.headers.get("Stripe-Signature"),
            secret_string(settings.payments_webhook_secret_arn),
        )
    logger.append_keys(event_id=event.event_id, checkout_id=event.checkout_id)
    result = handle_payment_event(deps, event)
    logger.info("payment event handled", extra={"event_type": event.type, "result": result.value})
    metrics.add_dimension(name="result", value=result.value)
    count("PaymentEventHandled")
    return json_response(200, {"received": True})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
