"""Who a storefront caller is, for orders: a guest session, a signed-in customer, or both.

`GET /orders` serves guests (a session token) and customers (a Cognito JWT, verified by the function:
the route has no authorizer so that guests reach it). A session bound to a customer speaks for that
customer, as it does for the cart; a JWT of another customer than the session's is refused, as the cart
refuses it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from commerce.domain.clock import utc_now
from commerce.domain.errors import Unauthenticated
from commerce.domain.orders.models import OrderOwner
from commerce.domain.sessions.models import Session
from commerce.domain.sessions.service import SessionReader, authenticate
from commerce.domain.sessions.tokens import parse_token


class CustomerVerifier(Protocol):
    def customer_id(self, token: str) -> str:
        """The customer (`sub`) a bearer JWT proves, or Unauthenticated."""
        ...


def identify_owner(
    session_token: str | None,
    authorization: str | None,
    sessions: SessionReader,
    customers: CustomerVerifier,
    now: datetime | None = None,
) -> OrderOwner:
    """The orders the caller may see, from the `X-Session-Token` and `Authorization` headers; 401 otherwise."""
    customer_id = _customer(authorization, customers)
    session = None
    if session_token:
        token = parse_token(session_token)
        session = authenticate(sessions(token.session_id), token, now or utc_now())
    return owner_of(session, customer_id)


def owner_of(session: Session | None, customer_id: str | None) -> OrderOwner:
    """A live session (if any) and a proven customer (if any) as one owner: a session bound to a customer
    speaks for that customer, and a JWT of another customer than the session's is refused (401)."""
    if session is None:
        if customer_id is None:
            raise Unauthenticated("Send X-Session-Token (a guest session) or Authorization: Bearer <Cognito JWT>")
        return OrderOwner(customer_id=customer_id)
    if customer_id is not None and session.customer_id not in (None, customer_id):
        raise Unauthenticated("This session belongs to another customer; create a new session")
    return OrderOwner(session_id=session.session_id, customer_id=customer_id or session.customer_id)


def _customer(authorization: str | None, customers: CustomerVerifier) -> str | None:
    authorization = (authorization or "").strip()
    if not authorization:
        return None
    scheme, _, bearer = authorization.partition(" ")
    if scheme.lower() != "bearer" or not bearer.strip():
        raise Unauthenticated("The Authorization header must be `Bearer <Cognito ID or access token>`")
    return customers.customer_id(bearer.strip())
