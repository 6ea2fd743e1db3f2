"""GET /checkouts/{checkoutId}: one of the caller's own checkouts (of the session, or of its customer); anyone
else's answers 404, as a missing one does."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.sessions import DynamoSessionRepository
from commerce.api.http import create_app, json_response
from commerce.api.identity import StorefrontSettings, caller
from commerce.domain.checkout.service import get_own_checkout, identify_owner
from commerce.domain.orders.models import order_clock
from commerce.observability import logger, tracer
from commerce.settings import load_settings

settings = load_settings(StorefrontSettings)
sessions = DynamoSessionRepository(settings.table_name)
checkouts = DynamoDbCheckouts(settings.table_name)
customers = settings.customer_verifier()
app = create_app()


@app.get("/checkouts/<checkout_id>")
@tracer.capture_method
def get_checkout(checkout_id: str) -> Response[str]:
    who = caller(app, customers)
    owner = identify_owner(who, sessions.get, order_clock())
    return json_response(200, get_own_checkout(checkouts, owner, checkout_id).to_json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
