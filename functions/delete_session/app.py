"""DELETE /sessions/current: end the caller's guest session; its token never works again (204, or 401 when the
token proves no live session). The guest cart is left to expire with the session's TTL."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from commerce.adapters.dynamodb.sessions import DynamoSessionRepository
from commerce.api.http import create_app
from commerce.api.identity import SESSION_TOKEN_HEADER, SessionSettings
from commerce.domain.sessions.service import revoke_session
from commerce.domain.sessions.tokens import parse_token
from commerce.observability import count, logger, tracer
from commerce.settings import load_settings

settings = load_settings(SessionSettings)
sessions = DynamoSessionRepository(settings.table_name)
app = create_app()


@app.delete("/sessions/current")
@tracer.capture_method
def delete_current_session() -> Response[str]:
    token = parse_token(app.current_event.headers.get(SESSION_TOKEN_HEADER))
    revoke_session(sessions, token)
    logger.append_keys(session_id=token.session_id)
    count("SessionRevoked")
    return Response(status_code=204, body="")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
