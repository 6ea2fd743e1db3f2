"""The `/_sandbox/` control endpoints: JSON in, JSON out, no auth (the sandbox only listens on 127.0.0.1).

GET    /_sandbox/health                      {"status": "ok"}
GET    /_sandbox/switches                    {"faults": [...], "webhooks": {...}}
PUT    /_sandbox/switches                    replace both (same shape; omitted parts reset)
POST   /_sandbox/reset                       no faults, default webhook settings, empty delivery log
GET    /_sandbox/faults                      {"data": [active faults with "id" and "remaining"]}
POST   /_sandbox/faults                      add one fault (see switches.FaultSpec) → 201 the active fault
DELETE /_sandbox/faults                      clear every fault, letting held requests go
DELETE /_sandbox/faults/{id}                 remove one fault
GET    /_sandbox/webhooks                    delivery settings and how many deliveries are pending
PATCH  /_sandbox/webhooks                    change settings: {"paused", "duplicates", "out_of_order", "lost"}
POST   /_sandbox/webhooks/pause | /resume    hold or release every delivery
GET    /_sandbox/webhooks/deliveries         every attempt, oldest first; filters ?event_id= ?event_type=
                                             ?object_id= (a payment intent) ?succeeded=true|false
DELETE /_sandbox/webhooks/deliveries         empty the delivery log
POST   /_sandbox/payment_intents/{id}/dispute the card holder disputes the intent's charge: refunds are refused
                                             (Stripe's `charge_disputed`) → the charge
POST   /_sandbox/refunds/{id}/fail           a succeeded refund fails later ({"failure_reason": ...}, optional):
                                             its amount back on the charge, `charge.refund.updated`,
                                             `refund.updated`, `refund.failed` sent → the refund
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from localcloud.payments.delivery import WebhookDispatcher
from localcloud.payments.errors import ApiError
from localcloud.payments.ledger import Ledger
from localcloud.payments.switches import DeliverySettings, FaultInjector, FaultSpec, SandboxSwitches

Handler = Callable[[Request, dict[str, str]], tuple[int, dict[str, Any]]]
T = TypeVar("T")


class BadControlRequest(ValueError):
    pass


class ControlApi:
    def __init__(self, faults: FaultInjector, webhooks: WebhookDispatcher, ledger: Ledger) -> None:
        self._faults = faults
        self._webhooks = webhooks
        self._ledger = ledger
        handlers: dict[str, Handler] = {
            "GET /_sandbox/health": lambda _r, _a: (200, {"status": "ok"}),
            "GET /_sandbox/switches": lambda _r, _a: (200, self.switches()),
            "PUT /_sandbox/switches": self._replace_switches,
            "POST /_sandbox/reset": self._reset,
            "GET /_sandbox/faults": lambda _r, _a: (200, {"data": [f.to_json() for f in self._faults.active()]}),
            "POST /_sandbox/faults": self._add_fault,
            "DELETE /_sandbox/faults": self._clear_faults,
            "DELETE /_sandbox/faults/<fault_id>": self._remove_fault,
            "GET /_sandbox/webhooks": lambda _r, _a: (200, self._webhook_state()),
            "PATCH /_sandbox/webhooks": self._configure_webhooks,
            "POST /_sandbox/webhooks/pause": lambda _r, _a: (200, self._webhooks.pause().to_json()),
            "POST /_sandbox/webhooks/resume": lambda _r, _a: (200, self._webhooks.resume().to_json()),
            "GET /_sandbox/webhooks/deliveries": self._deliveries,
            "DELETE /_sandbox/webhooks/deliveries": self._clear_deliveries,
            "POST /_sandbox/payment_intents/<intent_id>/dispute": self._dispute,
            "POST /_sandbox/refunds/<refund_id>/fail": self._fail_refund,
        }
        self._handlers = handlers
        self._map = Map([Rule(key.split(" ", 1)[1], methods=[key.split(" ", 1)[0]], endpoint=key) for key in handlers])

    def handle(self, request: Request) -> Response:
        try:
            key, args = self._map.bind_to_environ(request.environ).match()
        except NotFound:
            return _json(404, _error(f"no control endpoint {request.path}"))
        except MethodNotAllowed:
            return _json(405, _error(f"{request.method} is not allowed on {request.path}"))
        try:
            status, body = self._handlers[str(key)](request, {name: str(value) for name, value in args.items()})
        except BadControlRequest as error:
            return _json(400, _error(str(error)))
        return _json(status, body)

    def switches(self) -> dict[str, Any]:
        return {
            "faults": [fault.to_json() for fault in self._faults.active()],
            "webhooks": self._webhooks.settings.to_json(),
        }

    def apply(self, switches: SandboxSwitches) -> None:
        self._faults.clear()
        for spec in switches.faults:
            self._faults.add(spec)
        self._webhooks.configure(switches.webhooks)

    def _replace_switches(self, request: Request, _args: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.apply(_parse(lambda: SandboxSwitches.from_json(_body(request))))
        return 200, self.switches()

    def _reset(self, _request: Request, _args: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.apply(SandboxSwitches())
        self._webhooks.clear_history()
        return 200, self.switches()

    def _add_fault(self, request: Request, _args: dict[str, str]) -> tuple[int, dict[str, Any]]:
        spec = _parse(lambda: FaultSpec.from_json(_body(request)))
        return 201, self._faults.add(spec).to_json()

    def _clear_faults(self, _request: Request, _args: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self._faults.clear()
        return 200, {"data": []}

    def _remove_fault(self, _request: Request, args: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if not self._faults.remove(args["fault_id"]):
            return 404, _error(f"no fault {args['fault_id']}")
        return 200, {"id": args["fault_id"], "deleted": True}

    def _dispute(self, _request: Request, args: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return _ledger_answer(lambda: self._ledger.dispute(args["intent_id"]))

    def _fail_refund(self, request: Request, args: dict[str, str]) -> tuple[int, dict[str, Any]]:
        body = _body(request) if request.get_data() else {}
        reason = body.get("failure_reason", "expired_or_canceled_card") if isinstance(body, dict) else None
        if not isinstance(reason, str) or not reason:
            raise BadControlRequest("failure_reason must be a non-empty string")
        return _ledger_answer(lambda: self._ledger.fail_refund(args["refund_id"], reason))

    def _webhook_state(self) -> dict[str, Any]:
        return {**self._webhooks.settings.to_json(), "pending": self._webhooks.pending()}

    def _configure_webhooks(self, request: Request, _args: dict[str, str]) -> tuple[int, dict[str, Any]]:
        settings: DeliverySettings = _parse(lambda: self._webhooks.settings.merged(_body(request)))
        self._webhooks.configure(settings)
        return 200, self._webhook_state()

    def _deliveries(self, request: Request, _args: dict[str, str]) -> tuple[int, dict[str, Any]]:
        query = request.args
        succeeded = query.get("succeeded")
        if succeeded not in (None, "true", "false"):
            raise BadControlRequest("succeeded must be true or false")
        attempts = [
            attempt.to_json()
            for attempt in self._webhooks.deliveries()
            if query.get("event_id") in (None, attempt.event_id)
            and query.get("event_type") in (None, attempt.event_type)
            and query.get("object_id") in (None, attempt.object_id)
            and (succeeded is None or (succeeded == "true") == attempt.succeeded)
        ]
        return 200, {"object": "list", "data": attempts}

    def _clear_deliveries(self, _request: Request, _args: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self._webhooks.clear_history()
        return 200, {"object": "list", "data": []}


def _parse(build: Callable[[], T]) -> T:
    try:
        return build()
    except ValueError as error:
        raise BadControlRequest(str(error)) from error


def _ledger_answer(change: Callable[[], dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """The changed object, or the ledger's refusal in Stripe's shape and status."""
    try:
        return 200, change()
    except ApiError as error:
        return error.status, error.body()


def _body(request: Request) -> Any:
    raw = request.get_data(as_text=True)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise BadControlRequest(f"malformed JSON: {error}") from error


def _error(message: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "message": message}}


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, indent=2), status=status, content_type="application/json")
