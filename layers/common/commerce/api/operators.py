"""Operators: callers whose Cognito JWT (checked by API Gateway's authorizer) has group `admin`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from commerce.domain.errors import Forbidden, Unauthenticated

ADMIN_GROUP = "admin"


def jwt_claims(app: APIGatewayHttpResolver) -> dict[str, Any] | None:
    authorizer = app.current_event.request_context.get("authorizer") or {}
    jwt = authorizer.get("jwt") or {}
    claims = jwt.get("claims")
    return claims if isinstance(claims, dict) else None


def groups_of(claims: dict[str, Any]) -> set[str]:
    """HTTP API passes array claims as a string like "[admin customers]"; a JSON list is accepted too."""
    raw = claims.get("cognito:groups")
    if isinstance(raw, list):
        return {str(g) for g in raw}
    if isinstance(raw, str):
        return {g for g in raw.strip("[]").replace(",", " ").split() if g}
    return set()


def require_operator(app: APIGatewayHttpResolver) -> str:
    """The operator's subject, or 401/403 as API.md says."""
    claims = jwt_claims(app)
    if not claims:
        raise Unauthenticated("An operator token is required")
    if ADMIN_GROUP not in groups_of(claims):
        raise Forbidden("Only operators (group admin) may do this")
    return str(claims.get("sub") or claims.get("username") or "")
