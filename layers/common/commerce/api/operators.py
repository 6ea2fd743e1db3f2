"""Operators: callers whose Cognito JWT (checked by API Gateway's authorizer) has group `admin`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from commerce import bounded_json
from commerce.domain.errors import Forbidden, Unauthenticated

ADMIN_GROUP = "admin"


def jwt_claims(app: APIGatewayHttpResolver) -> dict[str, Any] | None:
    authorizer = app.current_event.request_context.get("authorizer") or {}
    jwt = authorizer.get("jwt") or {}
    claims = jwt.get("claims")
    return claims if isinstance(claims, dict) else None


def groups_of(claims: dict[str, Any]) -> set[str]:
    """The caller's Cognito groups, exactly. The claim arrives as a JSON list (tests, other authorizers), as HTTP
    API's rendering of an array claim, "[admin customers]" (Cognito group names hold no whitespace), or as a
    JSON array in a string. Nothing else splits a name: a group called `x,admin` is that one group, not admin."""
    raw = claims.get("cognito:groups")
    if isinstance(raw, list):
        return {g for g in raw if isinstance(g, str)}
    if not isinstance(raw, str):
        return set()
    text = raw.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return {text} if text else set()
    try:
        parsed = bounded_json.loads(text, max_depth=1)
    except ValueError:
        return set(text[1:-1].split())
    return {g for g in parsed if isinstance(g, str)} if isinstance(parsed, list) else set()


def require_operator(app: APIGatewayHttpResolver) -> str:
    """The operator's subject, or 401/403 as API.md says."""
    claims = jwt_claims(app)
    if not claims:
        raise Unauthenticated("An operator token is required")
    if ADMIN_GROUP not in groups_of(claims):
        raise Forbidden("Only operators (group admin) may do this")
    return str(claims.get("sub") or claims.get("username") or "")
