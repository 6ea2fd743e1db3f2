"""Checkout workflow, step RequestPayment (a `lambda:invoke.waitForTaskToken` task): create the order and the
payment intent, store the task token against the intent, show the payment to the customer (AWAITING_PAYMENT),
and return. The task stays open until the payment webhook reports the outcome (or its timeout).
Safe to run again: see commerce.domain.checkout.saga.
"""

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.payments import DynamoDbPaymentRecords
from commerce.adapters.orders_db.orders import order_repository
from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.adapters.payments import PaymentsSettings, StripePayments
from commerce.adapters.workflows import StepFunctionsTaskTokens
from commerce.domain.checkout.saga import request_payment
from commerce.observability import count, logger, tracer
from commerce.settings import load_settings


class Settings(OrdersDbSettings, PaymentsSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)


class PaymentTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    checkout_id: str = Field(alias="checkoutId", min_length=1, max_length=128)
    task_token: str = Field(alias="taskToken", min_length=1, max_length=2048)


settings = load_settings(Settings)
checkouts = DynamoDbCheckouts(settings.table_name)
records = DynamoDbPaymentRecords(settings.table_name)
provider = StripePayments.from_settings(settings)
tasks = StepFunctionsTaskTokens()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    task = PaymentTask.model_validate(event)
    logger.append_keys(checkout_id=task.checkout_id)
    requested = request_payment(
        checkout_id=task.checkout_id,
        task_token=task.task_token,
        checkouts=checkouts,
        orders=order_repository(settings, context),
        provider=provider,
        records=records,
        tasks=tasks,
    )
    logger.info("payment requested", extra={"intent_id": requested.record.intent_id})
    count("PaymentRequested")
    return {"status": requested.checkout.status.value, "intentId": requested.record.intent_id}
