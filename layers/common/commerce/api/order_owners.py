"""Who is asking for orders over HTTP (`GET /orders`, `GET /orders/{orderId}`): the session token and/or
the customer's bearer JWT of the request, as one `OrderOwner` (401 when neither proves anyone)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from commerce.adapters.dynamodb.carts import DynamoCartStore
from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.api.identity import SESSION_TOKEN_HEADER, StorefrontSettings
from commerce.domain.orders.models import OrderOwner
from commerce.domain.orders.owners import identify_owner


class OrderReaderSettings(StorefrontSettings, OrdersDbSettings):
    """The session table and user pool (who is calling) and the orders database."""


def order_owner(app: APIGatewayHttpResolver, settings: OrderReaderSettings) -> OrderOwner:
    sessions = DynamoCartStore(settings.table_name)
    headers = app.current_event.headers
    return identify_owner(
        headers.get(SESSION_TOKEN_HEADER),
        headers.get("Authorization"),
        sessions=lambda session_id: sessions.load(session_id, (), ()).session,
        customers=settings.customer_verifier(),
    )
