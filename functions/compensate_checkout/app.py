"""Checkout workflow, step Compensate (after any failure it caught): the payment cancelled, or refunded if it
went through anyway; the stock returned; the order CANCELLED; the checkout FAILED or EXPIRED with its reason;
`PaymentFailed` or `CheckoutExpired` on the bus. Safe to run again: see commerce.domain.checkout.saga.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.payments import DynamoDbPaymentRecords
from commerce.adapters.events import EventBridgeEvents
from commerce.adapters.orders_db.orders import order_repository
from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.adapters.payments import PaymentsSettings, StripePayments
from commerce.domain.checkout.saga import compensate_checkout
from commerce.observability import count, logger, metrics, tracer
from commerce.settings import load_settings


class Settings(OrdersDbSettings, PaymentsSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)


class CaughtError(BaseModel):
    """What a Catch puts at `ResultPath`: Step Functions' error name and cause."""

    error: str = Field(alias="Error", min_length=1)
    cause: str | None = Field(None, alias="Cause")


class CompensationTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    checkout_id: str = Field(alias="checkoutId", min_length=1, max_length=128)
    error: CaughtError


settings = load_settings(Settings)
checkouts = DynamoDbCheckouts(settings.table_name)
ledger = DynamoDbStockLedger(settings.table_name)
records = DynamoDbPaymentRecords(settings.table_name)
provider = StripePayments.from_settings(settings)
events = EventBridgeEvents(settings.event_bus_name)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    task = CompensationTask.model_validate(event)
    logger.append_keys(checkout_id=task.checkout_id)
    compensated = compensate_checkout(
        checkout_id=task.checkout_id,
        error=task.error.error,
        cause=task.error.cause,
        checkouts=checkouts,
        orders=order_repository(settings, context),
        ledger=ledger,
        provider=provider,
        records=records,
        events=events,
    )
    checkout = compensated.checkout
    failure = checkout.failure if checkout else None
    logger.info(
        "checkout compensated",
        extra={"error": task.error.error, "status": checkout.status.value if checkout else None},
    )
    metrics.add_dimension(name="reason", value=failure.code.value if failure else "NONE")
    count("CheckoutFailed", *(["PaymentRefunded"] if compensated.refunded else []))
    return {"status": checkout.status.value if checkout else None, "fault": compensated.fault}
