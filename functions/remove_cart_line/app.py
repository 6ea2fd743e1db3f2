"""DELETE /cart/lines/{sku}: remove a SKU's line from the caller's cart (404 LINE_NOT_FOUND without one)."""

from typing import Annotated

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from commerce.adapters.dynamodb.carts import DynamoCartStore
from commerce.api.http import create_app, json_response
from commerce.api.identity import StorefrontSettings, caller
from commerce.domain.carts.service import CartService
from commerce.domain.inventory.models import SKU_PATTERN
from commerce.observability import logger, tracer
from commerce.settings import load_settings

settings = load_settings(StorefrontSettings)
carts = CartService(DynamoCartStore(settings.table_name), settings.cart_limits, settings.session_policy)
customers = settings.customer_verifier()
app = create_app()


class LinePath(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    sku: Annotated[str, Field(pattern=SKU_PATTERN)]


@app.delete("/cart/lines/<sku>")
@tracer.capture_method
def remove_cart_line(sku: str):  # type: ignore[no-untyped-def]
    who = caller(app, customers)
    path = LinePath.model_validate({"sku": sku})
    return json_response(200, carts.remove_line(who, path.sku).to_json())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
