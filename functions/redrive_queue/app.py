"""POST /admin/queues/{queueName}/redrive: move the queue's dead letters back to it (at most 1000 per call; call
again while `moved` is 1000); 200 {"moved": n}. The route takes no body (one is a 400). How a redrive stays safe:
commerce.domain.operations.queues."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from commerce.adapters.sqs_queues import SqsQueues
from commerce.api.http import create_app, json_response, raw_body
from commerce.api.operators import require_operator
from commerce.domain.errors import ValidationFailed
from commerce.domain.operations.queues import MAX_REDRIVE_PER_CALL, redrive
from commerce.domain.operations.settings import QueuesSettings
from commerce.observability import logger, metrics, tracer
from commerce.settings import load_settings

settings = load_settings(QueuesSettings)
queues = SqsQueues()
app = create_app()


@app.post("/admin/queues/<queue_name>/redrive")
@tracer.capture_method
def redrive_dead_letters(queue_name: str) -> Response[str]:
    operator = require_operator(app)
    if raw_body(app).strip():
        raise ValidationFailed("This route takes no request body")
    moved = redrive(queues, settings.queues, queue_name, MAX_REDRIVE_PER_CALL)
    metrics.add_metric(name="DeadLettersRedriven", unit=MetricUnit.Count, value=moved)
    logger.info("dead letters redriven", extra={"queue": queue_name, "moved": moved, "operator": operator})
    return json_response(200, {"moved": moved})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
