"""CheckoutQueue consumer: start the workflow of each queued checkout, at the rate the queue's event source
allows (ScalingConfig.MaximumConcurrency, batch size).

A checkout whose execution already exists counts as admitted (its execution is named after it). Any other
failure fails only its own message (ReportBatchItemFailures): SQS delivers it again after the visibility
timeout, and after the queue's maxReceiveCount moves it to the dead-letter queue, whose alarm calls an
operator; the upkeep job gives back the stock of a checkout that never started.
"""

import logging

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.workflows import StepFunctionsCheckoutWorkflow
from commerce.domain.checkout.admission import admit_checkout
from commerce.observability import logger, metrics, tracer
from commerce.settings import FunctionSettings, load_settings


class Settings(FunctionSettings):
    checkout_state_machine_arn: str = Field(alias="CHECKOUT_STATE_MACHINE_ARN", min_length=1)
    # Carried in each execution's input: the state machine's payment task reads its timeout from there.
    payment_timeout_seconds: int = Field(alias="PAYMENT_TIMEOUT_SECONDS", ge=60, le=86400)


settings = load_settings(Settings)
workflow = StepFunctionsCheckoutWorkflow(
    settings.checkout_state_machine_arn,
    execution_input={"paymentTimeoutSeconds": settings.payment_timeout_seconds},
)
# Never fail the whole batch: a batch whose every message failed is reported message by message too. Failed
# messages are logged with their traceback through the standard logger that Powertools' Logger formats.
processor = BatchProcessor(
    event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=logging.getLogger(logger.name)
)


@tracer.capture_method
def admit(record: SQSRecord) -> None:
    admission = admit_checkout(workflow, record.body)
    logger.info(
        "checkout admitted" if admission.started else "checkout already admitted",
        extra={"checkout_id": admission.checkout_id, "message_id": record.message_id},
    )
    if admission.started:
        metrics.add_metric(name="CheckoutAdmitted", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    response = process_partial_response(event=event, record_handler=admit, processor=processor, context=context)
    if metrics.metric_set:  # flushing nothing would only log a warning
        metrics.flush_metrics()
    return dict(response)
