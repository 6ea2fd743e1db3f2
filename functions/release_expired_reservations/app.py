"""Upkeep (every 5 minutes), a bounded number of each per run, the rest in the next runs:

1. checkouts still QUEUED after their reservation expired and whose workflow never started: EXPIRED (or
   FAILED), their stock released;
2. reservations still held past their expiry whose checkout was never recorded, or is final (1.'s or a
   compensation's release that failed or never ran): released, to the shards the units came from;
3. then the stock audit of a page of SKUs (commerce.domain.inventory.audit): each shard's `reserved` against
   the units its open reservations hold, leaked units given back once confirmed, the rest counted as
   `StockAuditMismatches`.

What counts as abandoned, and why a checkout moves before its stock: commerce.domain.checkout.upkeep.
Each run is recorded (GET /admin/upkeep): examined, repaired by kind, the audit's mismatches by kind, failed;
each repair is counted as
`ReconciliationRepairs` (in total, and per `kind`), which the operators' alarm watches.
"""

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.queued_checkouts import DynamoDbQueuedCheckouts
from commerce.adapters.dynamodb.stock_audit import DynamoDbStockAudit
from commerce.adapters.dynamodb.upkeep_runs import DynamoDbUpkeepRuns
from commerce.adapters.workflows import StepFunctionsCheckoutWorkflow
from commerce.domain.checkout.upkeep import Repair, release_expired_holds, release_expired_reservations
from commerce.domain.inventory.audit import AuditRepair, AuditReport, audit_stock
from commerce.domain.orders.models import order_clock
from commerce.observability import logger, metrics, tracer
from commerce.settings import FunctionSettings, load_settings
from commerce.upkeep_record import record_upkeep_run


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
stock_audit = DynamoDbStockAudit(settings.table_name)
JOB = "release-expired-reservations"


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    started = order_clock()
    report = release_expired_reservations(queued, checkouts, ledger, workflow, now=started, limit=settings.max_per_run)
    for checkout_id in report.repaired[Repair.NEVER_PROCESSED]:
        logger.info("reservation of an abandoned checkout released", extra={"checkout_id": checkout_id})
    for checkout_id, error in report.failed:
        logger.error("could not release an abandoned checkout", extra={"checkout_id": checkout_id}, exc_info=error)
    # After the first pass, so that a release it failed is retried in this very run.
    holds = release_expired_holds(ledger, checkouts, ledger, now=order_clock(), limit=settings.max_per_run)
    for repair, reservation_ids in holds.repaired.items():
        for reservation_id in reservation_ids:
            logger.warning("expired reservation released", extra={"reservation_id": reservation_id, "repair": repair})
    for reservation_id, error in holds.failed:
        extra = {"reservation_id": reservation_id}
        logger.error("could not release an expired reservation", extra=extra, exc_info=error)
    # Last, after both release passes: what they could give back is back, what is left must agree.
    audit, audit_failed = AuditReport(), 0
    try:
        audit = audit_stock(stock_audit, limit=settings.max_per_run)
    except Exception:  # the releases above are done and must still be recorded; the next run audits again
        logger.exception("the stock audit failed")
        audit_failed = 1
    for kind, shards in audit.mismatches.items():
        for shard in shards:
            found = {"shard": shard, "mismatch": kind.value, "corrected": shard in audit.corrected}
            logger.error("stock counters disagree with their reservations", extra=found)
    released = len(report.repaired[Repair.NEVER_PROCESSED])
    repaired = {repair.value: len(ids) for part in (report, holds) for repair, ids in part.repaired.items()} | {
        AuditRepair.RESERVED_CORRECTED.value: len(audit.corrected)
    }
    failed = len(report.failed) + len(holds.failed) + audit_failed
    metrics.add_metric(name="AbandonedReservationsReleased", unit=MetricUnit.Count, value=released)
    metrics.add_metric(name="AbandonedReservationsFailed", unit=MetricUnit.Count, value=failed)
    metrics.flush_metrics()
    record_upkeep_run(
        runs,
        JOB,
        started,
        examined=report.examined + holds.examined + len(audit.audited),
        repaired=repaired,
        failed=failed,
        mismatches={kind.value: len(shards) for kind, shards in audit.mismatches.items()},
    )
    return {
        "released": released,
        "left": len(report.left),
        "failed": len(report.failed),
        "holdsReleased": sum(len(ids) for ids in holds.repaired.values()),
        "holdsLeft": len(holds.left),
        "holdsFailed": len(holds.failed),
        "skusAudited": len(audit.audited),
        "stockMismatches": audit.mismatch_count,
        "stockCorrected": len(audit.corrected),
    }
