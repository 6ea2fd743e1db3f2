"""POST /checkouts: check the caller's cart out: reserve its stock, record the checkout, queue it; 202.

The `Idempotency-Key` is scoped to the session and kept (Powertools idempotency, IdempotencyTable) for at
least 24 hours: the same key and body replay the first answer, another body is 422, a request still running
is 409. Domain steps and why they come in that order: commerce.domain.checkout.service.
"""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.dynamodb.carts import DynamoCartStore
from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.sessions import DynamoSessionRepository
from commerce.adapters.idempotency import Idempotent
from commerce.adapters.queues import SqsCheckoutQueue
from commerce.api.http import create_app, json_response, parse_body
from commerce.api.identity import StorefrontSettings, caller
from commerce.domain.carts.service import CartService
from commerce.domain.checkout.errors import IDEMPOTENCY_KEY_HEADER, Busy
from commerce.domain.checkout.schemas import CreateCheckoutRequest, idempotency_key
from commerce.domain.checkout.service import (
    AdmissionPolicy,
    CheckoutDesk,
    CheckoutDetails,
    identify_owner,
    owner_key,
)
from commerce.domain.inventory.errors import OutOfStock
from commerce.domain.orders.models import OrderOwner, order_clock
from commerce.domain.sessions.models import Credentials
from commerce.observability import count, logger, refusals_counted, tracer
from commerce.settings import load_settings


class Settings(StorefrontSettings):
    idempotency_table_name: str = Field(alias="IDEMPOTENCY_TABLE_NAME", min_length=1)
    idempotency_key_retention_hours: int = Field(24, alias="IDEMPOTENCY_KEY_RETENTION_HOURS", ge=24, le=24 * 30)
    checkout_queue_url: str = Field(alias="CHECKOUT_QUEUE_URL", min_length=1)
    checkout_queue_max_depth: int = Field(alias="CHECKOUT_QUEUE_MAX_DEPTH", ge=0)
    busy_retry_after_seconds: int = Field(5, alias="CHECKOUT_BUSY_RETRY_AFTER_SECONDS", ge=1, le=3600)
    reservation_minutes: int = Field(alias="RESERVATION_MINUTES", ge=1, le=24 * 60)

    @property
    def admission_policy(self) -> AdmissionPolicy:
        return AdmissionPolicy(
            reservation_ttl=timedelta(minutes=self.reservation_minutes),
            max_queue_depth=self.checkout_queue_max_depth,
            busy_retry_after_seconds=self.busy_retry_after_seconds,
        )


settings = load_settings(Settings)
desk = CheckoutDesk(
    checkouts=DynamoDbCheckouts(settings.table_name),
    ledger=DynamoDbStockLedger(settings.table_name),
    carts=CartService(DynamoCartStore(settings.table_name), settings.cart_limits, settings.session_policy),
    queue=SqsCheckoutQueue(settings.checkout_queue_url),
    policy=settings.admission_policy,
)
sessions = DynamoSessionRepository(settings.table_name)
customers = settings.customer_verifier()
app = create_app()


def place(*, request: dict[str, Any], who: Credentials, owner: OrderOwner, body: CreateCheckoutRequest) -> Any:
    details = CheckoutDetails(email=body.email, shipping_address=body.shipping_address.address())
    placement = desk.place(who, owner, request["idempotencyKey"], details)
    if placement.created:
        count("CheckoutStarted")
    return placement.checkout.to_json()


place_once = Idempotent(
    place,
    table_name=settings.idempotency_table_name,
    key="[owner, idempotencyKey]",  # the key is scoped to the session
    payload="body",  # the same key with another body: 422
    retention_seconds=settings.idempotency_key_retention_hours * 3600,
    key_prefix="checkout",
    context=lambda: app.lambda_context,
)


@app.post("/checkouts")
@tracer.capture_method
def create_checkout() -> Response[str]:
    who = caller(app, customers)
    key = idempotency_key(app.current_event.headers.get(IDEMPOTENCY_KEY_HEADER))
    body = parse_body(app, CreateCheckoutRequest)
    owner = identify_owner(who, sessions.get, order_clock())
    request = {"owner": owner_key(owner), "idempotencyKey": key, "body": body.canonical()}
    with refusals_counted({OutOfStock: "StockConflict", Busy: "CheckoutBusy"}):
        checkout = place_once(request=request, who=who, owner=owner, body=body)
    return json_response(202, checkout, headers={"Location": f"/checkouts/{checkout['checkoutId']}"})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
