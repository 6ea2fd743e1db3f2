"""POST /checkouts: check the caller's cart out: reserve its stock, record the checkout, queue it; 202.

The `Idempotency-Key` is scoped to the session and kept (Powertools idempotency, IdempotencyTable) for at
least 24 hours: the same key and body replay the first answer, another body is 422, a request still running
is 409. Domain steps and why they come in that order: commerce.domain.checkout.service.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.dynamodb.carts import DynamoCartStore
from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.queues import SqsCheckoutQueue
from commerce.api.http import create_app, json_response, parse_body
from commerce.api.identity import StorefrontSettings, caller
from commerce.domain.carts.service import CartService
from commerce.domain.checkout.errors import IDEMPOTENCY_KEY_HEADER, Busy, IdempotencyKeyReused, RequestInProgress
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
from commerce.observability import logger, metrics, tracer
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
cart_store = DynamoCartStore(settings.table_name)
desk = CheckoutDesk(
    checkouts=DynamoDbCheckouts(settings.table_name),
    ledger=DynamoDbStockLedger(settings.table_name),
    carts=CartService(cart_store, settings.cart_limits, settings.session_policy),
    queue=SqsCheckoutQueue(settings.checkout_queue_url),
    policy=settings.admission_policy,
)
customers = settings.customer_verifier()
app = create_app()


@app.post("/checkouts")
@tracer.capture_method
def create_checkout() -> Response[str]:
    who = caller(app, customers)
    key = idempotency_key(app.current_event.headers.get(IDEMPOTENCY_KEY_HEADER))
    body = parse_body(app, CreateCheckoutRequest)
    owner = identify_owner(who, lambda session_id: cart_store.load(session_id, (), ()).session, order_clock())
    request = {"owner": owner_key(owner), "idempotencyKey": key, "body": body.canonical()}
    with refusals_counted():
        checkout = place_once()(request=request, who=who, owner=owner, body=body)
    return json_response(202, checkout, headers={"Location": f"/checkouts/{checkout['checkoutId']}"})


def place(*, request: dict[str, Any], who: Credentials, owner: OrderOwner, body: CreateCheckoutRequest) -> Any:
    details = CheckoutDetails(email=body.email, shipping_address=body.shipping_address.address())
    placement = desk.place(who, owner, request["idempotencyKey"], details)
    if placement.created:
        count("CheckoutStarted")
    return placement.checkout.to_json()


@cache
def place_once() -> Callable[..., Any]:
    """`place` made idempotent (Powertools idempotency on IdempotencyTable), its refusals as the contract's
    errors. Built on first use: the utility imports boto3 and creates a client, which would slow the cold start."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    config = IdempotencyConfig(
        event_key_jmespath="[owner, idempotencyKey]",  # the key is scoped to the session
        payload_validation_jmespath="body",  # the same key with another body: 422
        expires_after_seconds=settings.idempotency_key_retention_hours * 3600,
        raise_on_no_idempotency_key=True,
    )
    store = DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name)
    idempotent = idempotent_function(
        place, data_keyword_argument="request", persistence_store=store, config=config, key_prefix="checkout"
    )

    def placed_once(**kwargs: Any) -> Any:
        # An in-progress record expires with this invocation's time budget, so a crashed attempt frees the key.
        config.register_lambda_context(app.lambda_context)
        try:
            return idempotent(**kwargs)
        except IdempotencyValidationError as error:
            raise IdempotencyKeyReused() from error
        except IdempotencyAlreadyInProgressError as error:
            raise RequestInProgress() from error

    return placed_once


@contextmanager
def refusals_counted() -> Iterator[None]:
    """Stock conflicts and BUSY answers, as metrics."""
    try:
        yield
    except OutOfStock:
        count("StockConflict")
        raise
    except Busy:
        count("CheckoutBusy")
        raise


def count(metric: str) -> None:
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()  # here rather than @log_metrics, which warns on every request that counts nothing


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
