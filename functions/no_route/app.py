"""The HTTP API's `$default` route: every method and path that matches no other route lands here.

A known path with a method it does not serve answers 405 METHOD_NOT_ALLOWED with `Allow`; anything else 404
NOT_FOUND, both as problem+json (shared/API.md), instead of API Gateway's bare `{"message":"Not Found"}`.
ROUTES is template.yaml's route table; tests/unit/test_no_route.py keeps the two equal.
"""

import re
from functools import cache

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from commerce.api.http import create_app, error_response
from commerce.domain.errors import CommerceError, ErrorCode, NotFound
from commerce.observability import logger, tracer

ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/health"),
        ("POST", "/sessions"),
        ("DELETE", "/sessions/current"),
        ("GET", "/products"),
        ("GET", "/products/{productId}"),
        ("GET", "/cart"),
        ("POST", "/cart/lines"),
        ("PUT", "/cart/lines/{sku}"),
        ("DELETE", "/cart/lines/{sku}"),
        ("POST", "/checkouts"),
        ("GET", "/checkouts/{checkoutId}"),
        ("POST", "/checkouts/{checkoutId}/cancel"),
        ("GET", "/orders"),
        ("GET", "/orders/{orderId}"),
        ("POST", "/webhooks/payments/stripe"),
        ("GET", "/admin/products"),
        ("POST", "/admin/products"),
        ("PUT", "/admin/products/{productId}"),
        ("GET", "/admin/inventory/{sku}"),
        ("PUT", "/admin/inventory/{sku}"),
        ("GET", "/admin/orders"),
        ("GET", "/admin/orders/{orderId}"),
        ("POST", "/admin/orders/{orderId}/fulfill"),
        ("POST", "/admin/orders/{orderId}/fulfillments"),
        ("POST", "/admin/orders/{orderId}/cancel"),
        ("POST", "/admin/orders/{orderId}/refund"),
        ("GET", "/admin/checkouts"),
        ("GET", "/admin/checkouts/{checkoutId}"),
        ("GET", "/admin/queues"),
        ("POST", "/admin/queues/{queueName}/redrive"),
        ("GET", "/admin/upkeep"),
    }
)

app = create_app()  # no routes of its own: every request reaches its not-found handler


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    # A path parameter matches one non-empty segment, as API Gateway's `{name}` does.
    return tuple(
        (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"), method) for method, path in ROUTES
    )


def allowed_methods(path: str) -> list[str]:
    """The methods some route serves at `path` (none: the path is unknown)."""
    return sorted({method for pattern, method in _patterns() if pattern.match(path)})


def unmatched(method: str, path: str) -> CommerceError:
    allowed = allowed_methods(path)
    if allowed and method not in allowed:
        return CommerceError(
            f"{method} is not served at {path}; it serves {', '.join(allowed)}",
            code=ErrorCode.METHOD_NOT_ALLOWED,
            headers={"Allow": ", ".join(allowed)},
        )
    return NotFound("No route for this method and path")


@app.not_found
def answer_unmatched(_: Exception) -> Response[str]:
    http = app.current_event.request_context.http
    return error_response(app, unmatched(http.method.upper(), http.path))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
