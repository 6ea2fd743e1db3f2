"""GET /admin/queues: each queue of the stack with its depth, messages in flight and dead-letter depth."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from commerce.adapters.sqs_queues import SqsQueues
from commerce.api.http import create_app, json_response
from commerce.api.operators import require_operator
from commerce.api.pagination import PageQuery, decode_cursor, encode_cursor, page_json, parse_query
from commerce.domain.operations.queues import queue_stats
from commerce.domain.operations.settings import QueuesSettings
from commerce.observability import logger, tracer
from commerce.settings import load_settings

CURSOR_SCOPE = "admin-queues"

settings = load_settings(QueuesSettings)
queues = SqsQueues()
app = create_app()


@app.get("/admin/queues")
@tracer.capture_method
def list_queues() -> Response[str]:
    require_operator(app)
    query = parse_query(app, PageQuery)
    after = (decode_cursor(query.cursor, CURSOR_SCOPE) or {}).get("after", "")
    names = [name for name in sorted(settings.queues) if name > after]
    page, rest = names[: query.limit], names[query.limit :]
    next_cursor = encode_cursor({"after": page[-1]} if rest else None, CURSOR_SCOPE)
    items = [stats.to_json() for stats in queue_stats(queues, settings.queues, page)]
    return json_response(200, page_json(items, next_cursor))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
