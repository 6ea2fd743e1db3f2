"""GET /cart: the caller's cart, priced from the catalog now (an empty cart if there is none yet)."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from commerce.adapters.dynamodb.carts import DynamoCartStore
from commerce.api.http import create_app, json_response
from commerce.api.identity import StorefrontSettings, caller
from commerce.domain.carts.service import CartService
from commerce.observability import logger, tracer
from commerce.settings import load_settings

settings = load_settings(StorefrontSettings)
carts = CartService(DynamoCartStore(settings.table_name), settings.cart_limits, settings.session_policy)
customers = settings.customer_verifier()
app = create_app()


@app.get("/cart")
@tracer.capture_method
def get_cart():  # type: ignore[no-untyped-def]
    return json_response(200, carts.view(caller(app, customers)).to_json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
