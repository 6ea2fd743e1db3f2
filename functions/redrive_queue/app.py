"""POST /admin/queues/{queueName}/redrive: move the queue's dead letters back to it (at most `maxMessages`,
default and most 1000, per call); 200 {"moved": n}. How a redrive stays safe: commerce.domain.operations.queues."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from commerce.adapters.sqs_queues import SqsQueues
from commerce.api.http import create_app, json_response, parse_body, raw_body
from commerce.api.operators import require_operator
from commerce.domain.operations.queues import MAX_REDRIVE_PER_CALL, redrive
from commerce.domain.operations.settings import QueuesSettings
from commerce.observability import logger, metrics, tracer
from commerce.settings import load_settings


class RedriveBody(BaseModel):
    """Optional body: `{"maxMessages": 1..1000}`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    max_messages: int = Field(MAX_REDRIVE_PER_CALL, alias="maxMessages", ge=1, le=MAX_REDRIVE_PER_CALL)


settings = load_settings(QueuesSettings)
queues = SqsQueues()
app = create_app()


@app.post("/admin/queues/<queue_name>/redrive")
@tracer.capture_method
def redrive_dead_letters(queue_name: str) -> Response[str]:
    operator = require_operator(app)
    body = parse_body(app, RedriveBody) if raw_body(app).strip() else RedriveBody()
    moved = redrive(queues, settings.queues, queue_name, body.max_messages)
    metrics.add_metric(name="DeadLettersRedriven", unit=MetricUnit.Count, value=moved)
    logger.info("dead letters redriven", extra={"queue": queue_name, "moved": moved, "operator": operator})
    return json_response(200, {"moved": moved})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
