"""Upkeep (every 5 minutes): give back the stock of checkouts still QUEUED after their reservation expired
and whose workflow never started; a bounded number per run, the rest in the next runs.
What counts as abandoned, and why the checkout moves before its stock: commerce.domain.checkout.upkeep.
Each run is recorded (GET /admin/upkeep): examined, repaired (`reservationsReleased`), failed.
"""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.queued_checkouts import DynamoDbQueuedCheckouts
from commerce.adapters.dynamodb.upkeep_runs import DynamoDbUpkeepRuns
from commerce.adapters.workflows import StepFunctionsCheckoutWorkflow
from commerce.domain.checkout.upkeep import release_expired_reservations
from commerce.domain.operations.upkeep import UpkeepRun
from commerce.domain.orders.models import order_clock
from commerce.observability import logger, metrics, tracer
from commerce.settings import FunctionSettings, load_settings


class Settings(FunctionSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    checkout_state_machine_arn: str = Field(alias="CHECKOUT_STATE_MACHINE_ARN", min_length=1)
    max_per_run: int = Field(alias="RESERVATION_UPKEEP_MAX_PER_RUN", ge=1, le=10_000)


settings = load_settings(Settings)
queued = DynamoDbQueuedCheckouts(settings.table_name)
checkouts = DynamoDbCheckouts(settings.table_name)
ledger = DynamoDbStockLedger(settings.table_name)
workflow = StepFunctionsCheckoutWorkflow(settings.checkout_state_machine_arn)
runs = DynamoDbUpkeepRuns(settings.table_name)
JOB = "release-expired-reservations"


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    started = order_clock()
    report = release_expired_reservations(queued, checkouts, ledger, workflow, now=started, limit=settings.max_per_run)
    for checkout_id in report.released:
        logger.info("reservation of an abandoned checkout released", extra={"checkout_id": checkout_id})
    for checkout_id, error in report.failed:
        logger.error("could not release an abandoned checkout", extra={"checkout_id": checkout_id}, exc_info=error)
    metrics.add_metric(name="AbandonedReservationsReleased", unit=MetricUnit.Count, value=len(report.released))
    metrics.add_metric(name="AbandonedReservationsFailed", unit=MetricUnit.Count, value=len(report.failed))
    metrics.flush_metrics()
    runs.record(
        UpkeepRun(
            job=JOB,
            started_at=started,
            ended_at=order_clock(),
            examined=len(report.released) + len(report.left) + len(report.failed),
            repaired={"reservationsReleased": len(report.released)},
            failed=len(report.failed),
        )
    )
    return {"released": len(report.released), "left": len(report.left), "failed": len(report.failed)}
