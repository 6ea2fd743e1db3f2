"""POST /cart/lines: add units of a SKU to the caller's cart (to its line, if it has one already)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from commerce.adapters.dynamodb.carts import DynamoCartStore
from commerce.api.http import create_app, json_response, parse_body
from commerce.api.identity import StorefrontSettings, caller
from commerce.domain.carts.service import CartService
from commerce.domain.inventory.models import SKU_PATTERN
from commerce.observability import count, logger, tracer
from commerce.settings import load_settings

settings = load_settings(StorefrontSettings)
carts = CartService(DynamoCartStore(settings.table_name), settings.cart_limits, settings.session_policy)
customers = settings.customer_verifier()
app = create_app()


class AddCartLine(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    sku: Annotated[str, Field(pattern=SKU_PATTERN)]
    # Past the per-line cap is 422 CART_LIMIT; this bound only refuses numbers no cart could ever hold.
    quantity: Annotated[int, Field(ge=1, le=1_000_000)]


@app.post("/cart/lines")
@tracer.capture_method
def add_cart_line():  # type: ignore[no-untyped-def]
    who = caller(app, customers)
    line = parse_body(app, AddCartLine)
    cart = carts.add_line(who, line.sku, line.quantity)
    count("CartLineAdded")
    return json_response(200, cart.to_json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
