"""The `/v1/` Stripe REST surface: routing, API-key auth, the idempotency layer and JSON rendering.

Requests are form-encoded (query string for GET), answers are Stripe's JSON objects or error bodies.
Auth is `Authorization: Bearer <secret key>` (or HTTP Basic with the key as user name, as curl's `-u` sends).
Confirming and retrieving a payment intent may instead be authorised by the intent's `client_secret` as a
parameter, with the publishable key or no key at all: the flow a browser uses.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

import localcloud.payments.objects as objects  # the module, not the package: the package re-exports the sandbox
from localcloud.payments.endpoints import WebhookEndpoints
from localcloud.payments.errors import (
    ApiError,
    authentication,
    idempotency_key_in_use,
    idempotency_mismatch,
    invalid_request,
    parameter_missing,
    resource_missing,
)
from localcloud.payments.forms import decode_form, fingerprint
from localcloud.payments.idempotency import IdempotencyKeys, InUse, Mismatch, Replay, SavedResponse
from localcloud.payments.ledger import Ledger, RequestContext
from localcloud.payments.params import (
    metadata_update,
    optional_str,
    optional_str_list,
    reject_unknown,
    required_str,
)

MAX_IDEMPOTENCY_KEY = 255
# Responses saved for an idempotency key: the endpoint ran (a success, or a card declined while charging).
_SAVED_STATUSES = (200, 402)
_ALL_EVENTS = "*"


class Access(Enum):
    SECRET_KEY = "secret_key"  # noqa: S105 - the name of an access level, not a credential
    CLIENT_SECRET = "client_secret"  # noqa: S105 - the secret key, or the intent's client_secret param


@dataclass(frozen=True)
class Call:
    params: dict[str, Any]
    args: dict[str, str]
    ctx: RequestContext


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Callable[[Call], dict[str, Any]]
    access: Access = Access.SECRET_KEY


class StripeApi:
    def __init__(
        self,
        ledger: Ledger,
        endpoints: WebhookEndpoints,
        idempotency: IdempotencyKeys,
        *,
        secret_key: str,
        publishable_key: str,
    ) -> None:
        self._ledger = ledger
        self._endpoints = endpoints
        self._idempotency = idempotency
        self._secret_key = secret_key
        self._publishable_key = publishable_key
        routes = [
            Route("POST", "/v1/payment_intents", lambda c: ledger.create_payment_intent(c.params, c.ctx)),
            Route(
                "GET",
                "/v1/payment_intents/<intent>",
                lambda c: ledger.retrieve_payment_intent(c.args["intent"], c.params),
                Access.CLIENT_SECRET,
            ),
            Route(
                "POST",
                "/v1/payment_intents/<intent>",
                lambda c: ledger.update_payment_intent(c.args["intent"], c.params, c.ctx),
            ),
            Route(
                "POST",
                "/v1/payment_intents/<intent>/confirm",
                lambda c: ledger.confirm_payment_intent(c.args["intent"], c.params, c.ctx),
                Access.CLIENT_SECRET,
            ),
            Route(
                "POST",
                "/v1/payment_intents/<intent>/cancel",
                lambda c: ledger.cancel_payment_intent(c.args["intent"], c.params, c.ctx),
            ),
            Route("POST", "/v1/refunds", lambda c: ledger.create_refund(c.params, c.ctx)),
            Route("GET", "/v1/refunds/<refund>", lambda c: ledger.retrieve_refund(c.args["refund"], c.params)),
            Route("GET", "/v1/charges/<charge>", lambda c: ledger.retrieve_charge(c.args["charge"], c.params)),
            Route(
                "GET",
                "/v1/payment_methods/<method>",
                lambda c: ledger.retrieve_payment_method(c.args["method"], c.params),
            ),
            Route("GET", "/v1/events", lambda c: ledger.list_events(c.params)),
            Route("GET", "/v1/events/<event>", lambda c: ledger.retrieve_event(c.args["event"], c.params)),
            Route("POST", "/v1/webhook_endpoints", self._create_webhook_endpoint),
            Route("GET", "/v1/webhook_endpoints", self._list_webhook_endpoints),
            Route("GET", "/v1/webhook_endpoints/<endpoint>", self._retrieve_webhook_endpoint),
            Route("DELETE", "/v1/webhook_endpoints/<endpoint>", self._delete_webhook_endpoint),
        ]
        self._routes = {f"{route.method} {route.path}": route for route in routes}
        self._map = Map([Rule(route.path, methods=[route.method], endpoint=key) for key, route in self._routes.items()])

    def handle(self, request: Request, request_id: str) -> Response:
        idempotency_key = (request.headers.get("Idempotency-Key") or "").strip() or None
        if request.method != "POST":
            idempotency_key = None  # GET and DELETE are idempotent by definition; Stripe ignores the header
        try:
            route, args = self._route(request)
            params = self._params(request)
            self._authorise(request, route, args, params)
        except ApiError as error:
            return self._render(error.status, error.body(), request, request_id, idempotency_key)
        call = Call(params, args, RequestContext(request_id, idempotency_key))
        if idempotency_key is None:
            status, body = self._execute(route, call)
            return self._render(status, body, request, request_id, None)
        return self._idempotent(route, call, request, idempotency_key)

    def _idempotent(self, route: Route, call: Call, request: Request, key: str) -> Response:
        request_id = call.ctx.request_id or ""
        if len(key) > MAX_IDEMPOTENCY_KEY:
            error = invalid_request(f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY} characters long.")
            return self._render(error.status, error.body(), request, request_id, key)
        outcome = self._idempotency.begin(key, fingerprint(request.method, request.path, call.params))
        if isinstance(outcome, Replay):
            saved = outcome.response
            response = self._response(saved.status, saved.body, request, request_id, key)
            response.headers["Idempotent-Replayed"] = "true"
            response.headers["Original-Request"] = saved.request_id
            return response
        if isinstance(outcome, Mismatch | InUse):
            error = _idempotency_error(outcome, key)
            return self._render(error.status, error.body(), request, request_id, key)
        status, payload = 500, b""
        try:
            status, body = self._execute(route, call)
            payload = _dump(body)
        finally:
            # A response not saved (including a crash in the sandbox itself) must not leave the key "in use".
            if status in _SAVED_STATUSES:
                self._idempotency.complete(key, SavedResponse(status, payload, request_id))
            else:
                self._idempotency.abandon(key)
        return self._response(status, payload, request, request_id, key)

    def _execute(self, route: Route, call: Call) -> tuple[int, dict[str, Any]]:
        try:
            body = route.handler(call)
            expand = optional_str_list(call.params, "expand")
            if expand:
                body = self._ledger.expand(body, expand)
            return 200, body
        except ApiError as error:
            return error.status, error.body()

    # -- request parsing and auth ------------------------------------------------------------------------

    def _route(self, request: Request) -> tuple[Route, dict[str, str]]:
        adapter = self._map.bind_to_environ(request.environ)
        try:
            key, args = adapter.match()
        except (NotFound, MethodNotAllowed):
            raise invalid_request(
                f"Unrecognized request URL ({request.method}: {request.path}). The local payments sandbox "
                "implements a subset of Stripe's API; see localcloud/payments.",
                status=404,
            ) from None
        return self._routes[str(key)], {name: str(value) for name, value in args.items()}

    @staticmethod
    def _params(request: Request) -> dict[str, Any]:
        raw = request.get_data(as_text=True) if request.method == "POST" else request.query_string.decode()
        return decode_form(parse_qsl(raw, keep_blank_values=True))

    def _authorise(self, request: Request, route: Route, args: dict[str, str], params: dict[str, Any]) -> None:
        key = _api_key(request)
        if key == self._secret_key:
            return
        if key is not None and key != self._publishable_key:
            raise authentication(f"Invalid API Key provided: {_mask(key)}")
        if route.access is Access.CLIENT_SECRET and "client_secret" in params:
            client_secret = required_str(params, "client_secret")
            if not self._ledger.client_secret_matches(args["intent"], client_secret):
                raise invalid_request(
                    "The client_secret provided does not match the client_secret associated with the PaymentIntent.",
                    param="client_secret",
                    code="payment_intent_invalid_parameter",
                )
            return
        if key is None:
            raise authentication(
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
            )
        raise authentication(
            "This API call cannot be made with a publishable API key. Please use a secret API key."
            + (" (Or pass the PaymentIntent's client_secret.)" if route.access is Access.CLIENT_SECRET else "")
        )

    # -- rendering -----------------------------------------------------------------------------------------

    def _render(
        self, status: int, body: dict[str, Any], request: Request, request_id: str, key: str | None
    ) -> Response:
        return self._response(status, _dump(body), request, request_id, key)

    @staticmethod
    def _response(status: int, payload: bytes, request: Request, request_id: str, key: str | None) -> Response:
        response = Response(payload, status=status, content_type="application/json")
        response.headers["Request-Id"] = request_id
        response.headers["Stripe-Version"] = request.headers.get("Stripe-Version") or objects.API_VERSION
        response.headers["Cache-Control"] = "no-cache, no-store"
        if key is not None:
            response.headers["Idempotency-Key"] = key
        return response

    # -- webhook endpoints -------------------------------------------------------------------------------------

    def _create_webhook_endpoint(self, call: Call) -> dict[str, Any]:
        params = call.params
        reject_unknown(params, ("url", "enabled_events", "description", "metadata", "api_version", "expand"))
        url = required_str(params, "url")
        if not url.startswith(("http://", "https://")):
            raise invalid_request(f"Invalid URL: {url}. URLs must begin with http:// or https://.", param="url")
        enabled_events = optional_str_list(params, "enabled_events")
        if not enabled_events:
            raise parameter_missing("enabled_events")
        for name in enabled_events:
            if name != _ALL_EVENTS and not _is_event_type(name):
                raise invalid_request(f"Invalid event type: {name}.", param="enabled_events")
        endpoint = self._endpoints.add(
            url,
            enabled_events=enabled_events,
            description=optional_str(params, "description"),
            metadata=metadata_update(params, {}),
        )
        return endpoint.to_json(with_secret=True)

    def _list_webhook_endpoints(self, call: Call) -> dict[str, Any]:
        reject_unknown(call.params, ("limit", "expand"))
        data = [endpoint.to_json() for endpoint in reversed(self._endpoints.all())]
        return objects.list_of(data, "/v1/webhook_endpoints", has_more=False)

    def _retrieve_webhook_endpoint(self, call: Call) -> dict[str, Any]:
        reject_unknown(call.params, ("expand",))
        endpoint = self._endpoints.get(call.args["endpoint"])
        if endpoint is None:
            raise resource_missing("webhook_endpoint", call.args["endpoint"], param="id")
        return endpoint.to_json()

    def _delete_webhook_endpoint(self, call: Call) -> dict[str, Any]:
        endpoint = self._endpoints.remove(call.args["endpoint"])
        if endpoint is None:
            raise resource_missing("webhook_endpoint", call.args["endpoint"], param="id")
        return {"id": endpoint.id, "object": "webhook_endpoint", "deleted": True}


def _idempotency_error(outcome: Mismatch | InUse, key: str) -> ApiError:
    return idempotency_mismatch(key) if isinstance(outcome, Mismatch) else idempotency_key_in_use(key)


def _is_event_type(name: str) -> bool:
    parts = name.split(".")
    return len(parts) >= 2 and all(part.replace("_", "").isalnum() or part == "*" for part in parts)


def _api_key(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip() or None
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(credentials.strip()).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user or None
    return None


def _mask(key: str) -> str:
    return key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else "*" * len(key)


def _dump(body: dict[str, Any]) -> bytes:
    return json.dumps(body, indent=2).encode()
