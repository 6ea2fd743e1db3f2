"""POST /checkouts/{checkoutId}/cancel: the caller cancels one of its own open checkouts: 200 CANCELLED, its
stock released, its payment intent cancelled (a late payment refunded), its workflow told to stop. Someone
else's answers 404, a paid or final one 409. Steps and crash windows: commerce.domain.checkout.cancel.
"""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.dynamodb.carts import DynamoCartStore
from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.payments import DynamoDbPaymentRecords
from commerce.adapters.events import EventBridgeEvents
from commerce.adapters.orders_db.orders import order_repository
from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.adapters.payments import PaymentsSettings, StripePayments
from commerce.adapters.workflows import StepFunctionsTaskTokens
from commerce.api.http import create_app, json_response
from commerce.api.identity import StorefrontSettings, caller
from commerce.domain.checkout.cancel import CancelDeps, cancel_checkout
from commerce.domain.checkout.service import identify_owner
from commerce.domain.orders.models import order_clock
from commerce.observability import logger, metrics, tracer
from commerce.settings import load_settings


class Settings(StorefrontSettings, OrdersDbSettings, PaymentsSettings):
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)


settings = load_settings(Settings)
sessions = DynamoCartStore(settings.table_name)
checkouts = DynamoDbCheckouts(settings.table_name)
ledger = DynamoDbStockLedger(settings.table_name)
records = DynamoDbPaymentRecords(settings.table_name)
provider = StripePayments.from_settings(settings)
tasks = StepFunctionsTaskTokens()
events = EventBridgeEvents(settings.event_bus_name)
customers = settings.customer_verifier()
app = create_app()


@app.post("/checkouts/<checkout_id>/cancel")
@tracer.capture_method
def cancel(checkout_id: str) -> Response[str]:
    who = caller(app, customers)
    owner = identify_owner(who, lambda session_id: sessions.load(session_id, (), ()).session, order_clock())
    deps = CancelDeps(
        checkouts, order_repository(settings, app.lambda_context), ledger, provider, records, tasks, events
    )
    cancelled = cancel_checkout(deps, owner, checkout_id)
    metrics.add_metric(name="CheckoutCancelled", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
    return json_response(200, cancelled.to_json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
