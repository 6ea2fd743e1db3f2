"""Who is calling a storefront route: a session token (`X-Session-Token`) and, optionally, a customer.

`caller(app, customers)` reads the headers into domain `Credentials` and refuses (401) what is visibly
wrong before anything is read from the table: no session token, a malformed one, or an `Authorization`
header that is not a valid Cognito bearer JWT. Whether the token belongs to a live session, and which
cart it addresses, is the cart service's business (commerce.domain.carts.service).

The settings classes name the variables these functions read (template.yaml, Globals).
"""

from __future__ import annotations

from typing import Protocol

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import AliasChoices, Field

from commerce.adapters.cognito_jwt import CognitoJwtVerifier
from commerce.domain.carts.models import CartLimits
from commerce.domain.errors import Unauthenticated
from commerce.domain.sessions.models import Credentials, SessionPolicy
from commerce.domain.sessions.tokens import parse_token
from commerce.settings import FunctionSettings

SESSION_TOKEN_HEADER = "X-Session-Token"  # noqa: S105 - a header name, not a secret


class CustomerVerifier(Protocol):
    def customer_id(self, token: str) -> str:
        """The customer (`sub`) a bearer JWT proves, or Unauthenticated."""
        ...


class SessionSettings(FunctionSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    session_ttl_days: int = Field(7, alias="SESSION_TTL_DAYS", ge=1, le=90)
    session_max_lifetime_days: int = Field(30, alias="SESSION_MAX_LIFETIME_DAYS", ge=1, le=365)

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy.days(self.session_ttl_days, self.session_max_lifetime_days)


class StorefrontSettings(SessionSettings):
    """Everything the session-authenticated cart functions need."""

    user_pool_id: str = Field(alias="USER_POOL_ID", min_length=1)
    user_pool_client_id: str = Field(alias="USER_POOL_CLIENT_ID", min_length=1)
    region: str = Field(validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"), min_length=1)
    cart_max_line_quantity: int = Field(10, alias="CART_MAX_LINE_QUANTITY", ge=1)
    cart_max_lines: int = Field(50, alias="CART_MAX_LINES", ge=1)
    # boto3's standard endpoint overrides; the local cloud sets them, AWS does not.
    endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")
    cognito_endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL_COGNITO_IDP")

    @property
    def cart_limits(self) -> CartLimits:
        return CartLimits(max_line_quantity=self.cart_max_line_quantity, max_lines=self.cart_max_lines)

    def customer_verifier(self) -> CognitoJwtVerifier:
        return CognitoJwtVerifier(
            region=self.region,
            user_pool_id=self.user_pool_id,
            client_id=self.user_pool_client_id,
            endpoint_url=self.cognito_endpoint_url or self.endpoint_url,
        )


def caller(app: APIGatewayHttpResolver, customers: CustomerVerifier) -> Credentials:
    """The credentials of the current request, or Unauthenticated (401)."""
    headers = app.current_event.headers
    token = parse_token(headers.get(SESSION_TOKEN_HEADER))
    authorization = (headers.get("Authorization") or "").strip()
    if not authorization:
        return Credentials(token=token)
    scheme, _, bearer = authorization.partition(" ")
    if scheme.lower() != "bearer" or not bearer.strip():
        raise Unauthenticated("The Authorization header must be `Bearer <Cognito ID or access token>`")
    return Credentials(token=token, customer_id=customers.customer_id(bearer.strip()))
