"""POST /sessions: start a guest session; its token is in this response and nowhere else, ever."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict

from commerce.adapters.dynamodb.sessions import DynamoSessionRepository
from commerce.api.http import create_app, json_response, parse_body, raw_body
from commerce.api.identity import SessionSettings
from commerce.domain.sessions.service import create_session
from commerce.observability import count, logger, tracer
from commerce.settings import load_settings

settings = load_settings(SessionSettings)
sessions = DynamoSessionRepository(settings.table_name)
app = create_app()


class NoFields(BaseModel):
    """No body is needed; one that is sent must be empty or `{}`."""

    model_config = ConfigDict(extra="forbid", strict=True)


@app.post("/sessions")
@tracer.capture_method
def post_session():  # type: ignore[no-untyped-def]
    if raw_body(app).strip():
        parse_body(app, NoFields)
    created = create_session(sessions, settings.session_policy)
    logger.append_keys(session_id=created.session.session_id)
    count("SessionCreated")
    return json_response(201, created.to_json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
