"""Checkout workflow, step Complete (after the payment webhook's SendTaskSuccess): the order PAID, the
reservation committed, the bought lines out of the cart, `OrderPlaced` on the bus, the checkout COMPLETED.
Safe to run again: see commerce.domain.checkout.saga.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from commerce.adapters.dynamodb.carts import DynamoCartStore
from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.payments import DynamoDbPaymentRecords
from commerce.adapters.events import EventBridgeEvents
from commerce.adapters.orders_db.orders import order_repository
from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.api.identity import SessionSettings
from commerce.domain.checkout.saga import complete_checkout
from commerce.observability import count, logger, tracer
from commerce.settings import load_settings


class Settings(OrdersDbSettings, SessionSettings):
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)


class CompletionTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    checkout_id: str = Field(alias="checkoutId", min_length=1, max_length=128)


settings = load_settings(Settings)
checkouts = DynamoDbCheckouts(settings.table_name)
ledger = DynamoDbStockLedger(settings.table_name)
records = DynamoDbPaymentRecords(settings.table_name)
carts = DynamoCartStore(settings.table_name)
events = EventBridgeEvents(settings.event_bus_name)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    task = CompletionTask.model_validate(event)
    logger.append_keys(checkout_id=task.checkout_id)
    completed = complete_checkout(
        checkout_id=task.checkout_id,
        checkouts=checkouts,
        orders=order_repository(settings, context),
        ledger=ledger,
        records=records,
        events=events,
        carts=carts,
        session_policy=settings.session_policy,
    )
    if completed.order is not None:
        if not completed.cart_emptied:
            logger.warning("the bought lines were left in the cart")
        count("CheckoutCompleted")
    return {"status": completed.checkout.status.value}
