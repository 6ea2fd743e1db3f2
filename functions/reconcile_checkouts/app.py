"""Upkeep (every 5 minutes): close checkouts left PROCESSING or AWAITING_PAYMENT past their deadline whose
workflow ended without finishing them (aborted, or Compensate out of retries), a bounded number per run:
compensated as a payment timeout, refunding a payment that went through; then open checkouts whose
compensation released the stock and died before the status write (found by walking checkouts by creation
time, a page per run), finished. Which ones, and why it is safe beside a running saga:
commerce.domain.checkout.reconcile. Then it finishes refunds and cancels left REFUND_PENDING
(commerce.domain.payments.refunds.finish_pending_refunds), and cancels the intents whose payment was closed
but whose cancel failed (commerce.domain.payments.closing), as many again at most each.
Each run is recorded (GET /admin/upkeep) and its repairs counted as `ReconciliationRepairs`.
"""

from datetime import timedelta

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.payments import DynamoDbClosedIntents, DynamoDbPaymentRecords
from commerce.adapters.dynamodb.stranded_checkouts import DynamoDbCheckoutScan
from commerce.adapters.dynamodb.upkeep_runs import DynamoDbUpkeepRuns
from commerce.adapters.events import EventBridgeEvents
from commerce.adapters.orders_db.orders import order_repository
from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.adapters.payments import PaymentsSettings, StripePayments
from commerce.adapters.workflows import StepFunctionsCheckoutWorkflow
from commerce.domain.checkout.reconcile import close_abandoned_checkouts, finish_stranded_checkouts
from commerce.domain.checkout.saga import Compensated, compensate_checkout
from commerce.domain.orders.models import order_clock
from commerce.domain.payments.closing import cancel_closed_intents
from commerce.domain.payments.refunds import REFUNDS_FINISHED, REFUNDS_REJECTED, MoneyBack, finish_pending_refunds
from commerce.observability import logger, tracer
from commerce.settings import load_settings
from commerce.upkeep_record import record_upkeep_run


class Settings(OrdersDbSettings, PaymentsSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    checkout_state_machine_arn: str = Field(alias="CHECKOUT_STATE_MACHINE_ARN", min_length=1)
    max_per_run: int = Field(alias="RESERVATION_UPKEEP_MAX_PER_RUN", ge=1, le=10_000)
    payment_timeout_seconds: int = Field(alias="PAYMENT_TIMEOUT_SECONDS", ge=60, le=86400)


settings = load_settings(Settings)
checkouts = DynamoDbCheckouts(settings.table_name)
ledger = DynamoDbStockLedger(settings.table_name)
records = DynamoDbPaymentRecords(settings.table_name)
closed_intents = DynamoDbClosedIntents(settings.table_name)
provider = StripePayments.from_settings(settings)
events = EventBridgeEvents(settings.event_bus_name)
workflow = StepFunctionsCheckoutWorkflow(settings.checkout_state_machine_arn)
runs = DynamoDbUpkeepRuns(settings.table_name)
scan = DynamoDbCheckoutScan(settings.table_name)
JOB = "reconcile-checkouts"
# A checkout older than its payment timeout plus this has had its compensation's retries (Step Functions
# gives up within minutes): one still open then is stranded, not in progress.
COMPENSATION_RETRIES_WITHIN = timedelta(hours=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    started = order_clock()
    orders = order_repository(settings, context)

    def compensate(checkout_id: str, error: str) -> Compensated:
        return compensate_checkout(
            checkout_id=checkout_id,
            error=error,
            cause=None,
            checkouts=checkouts,
            orders=orders,
            ledger=ledger,
            provider=provider,
            records=records,
            events=events,
        )

    report = close_abandoned_checkouts(
        ledger, checkouts, ledger, workflow, compensate, now=started, limit=settings.max_per_run
    )
    settle_after = timedelta(seconds=settings.payment_timeout_seconds) + COMPENSATION_RETRIES_WITHIN
    stranded = finish_stranded_checkouts(
        scan,
        checkouts,
        ledger,
        workflow,
        compensate,
        now=order_clock(),
        limit=settings.max_per_run,
        settle_after=settle_after,
    )
    for part in (report, stranded):
        for repair, checkout_ids in part.repaired.items():
            for checkout_id in checkout_ids:
                logger.warning("abandoned checkout closed", extra={"checkout_id": checkout_id, "repair": repair})
        for checkout_id, error in part.failed:
            logger.error("could not close an abandoned checkout", extra={"checkout_id": checkout_id}, exc_info=error)
    # Intents whose payment was closed (by the passes above, or by any compensation or cancel) and whose
    # cancel failed: cancelled now, or refunded if paid meanwhile.
    intents = cancel_closed_intents(
        closed_intents, records, provider, events, now=order_clock(), limit=settings.max_per_run
    )
    for intent_repair, intent_ids in intents.repaired.items():
        for intent_id in intent_ids:
            logger.warning("closed intent cancelled", extra={"intent_id": intent_id, "repair": intent_repair})
    for intent_id, error in intents.failed:
        logger.warning("closed intent left for the next run", extra={"intent_id": intent_id}, exc_info=error)
    parts = (report, stranded, intents)
    repaired = {kind.value: len(ids) for part in parts for kind, ids in part.repaired.items()}
    # Refunds and cancels whose function stopped (or whose provider could not answer) between moving the order
    # to REFUND_PENDING and recording the provider's answer: asked again with the same idempotency key.
    pending = finish_pending_refunds(
        MoneyBack(orders, checkouts, lambda: provider, records), limit=settings.max_per_run
    )
    for order_id in pending.finished:
        logger.warning("pending refund finished", extra={"order_id": order_id})
    for order_id in pending.unavailable:
        logger.warning(
            "pending refund left for the next run: the provider could not answer", extra={"order_id": order_id}
        )
    for order_id in pending.rejected:
        logger.error("pending refund refused by the provider: order REFUND_FAILED", extra={"order_id": order_id})
    repaired[REFUNDS_FINISHED] = len(pending.finished)
    repaired[REFUNDS_REJECTED] = len(pending.rejected)
    failed = sum(len(part.failed) for part in parts)
    examined = sum(part.examined for part in parts)
    record_upkeep_run(runs, JOB, started, examined=examined, repaired=repaired, failed=failed)
    return {**repaired, "left": sum(len(part.left) for part in parts), "failed": failed}
