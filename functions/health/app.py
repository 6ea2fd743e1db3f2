"""GET /health: the API answers. Touches nothing else, so it stays cheap for load balancers and probes."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from commerce.api.http import create_app, json_response
from commerce.observability import logger, tracer

app = create_app()


@app.get("/health")
@tracer.capture_method
def health():  # type: ignore[no-untyped-def]
    return json_response(200, {"status": "ok"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
