"""`PaymentsSandbox`: the WSGI app the local cloud serves as its payments provider, and its delivery worker.

It puts the pieces together: injected faults first (they stand for the provider failing before or after
doing the work), then `/_sandbox/` control or the `/v1/` Stripe API. `start()`/`stop()` run the webhook
delivery thread; requests are answered whether or not it runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from werkzeug.wrappers import Request, Response

from localcloud.payments.api import StripeApi
from localcloud.payments.control import ControlApi
from localcloud.payments.delivery import DeliveryAttempt, RetryPolicy, WebhookDispatcher
from localcloud.payments.endpoints import WebhookEndpoint, WebhookEndpoints
from localcloud.payments.errors import api_error
from localcloud.payments.idempotency import IdempotencyKeys
from localcloud.payments.ids import new_id
from localcloud.payments.ledger import Ledger
from localcloud.payments.switches import FaultInjector, SandboxSwitches

_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key, Stripe-Version",
    "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
}


class PaymentsSandbox:
    """A Stripe-compatible payments API for one test-mode account, held in memory.

    `time_scale` multiplies webhook retry intervals. `switches` default to `LOCALCLOUD_PAYMENTS_SWITCHES`
    from the environment (see `localcloud.payments.switches`). `webhook_url` registers an endpoint listening
    to every event, signed with `webhook_secret` (generated when not given; see `webhook_endpoints`).
    """

    def __init__(
        self,
        *,
        secret_key: str = "sk_test_localcloud",  # noqa: S107 - the sandbox's well-known test key
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        time_scale: float = 1.0,
        publishable_key: str = "pk_test_localcloud",
        switches: SandboxSwitches | None = None,
        webhook_timeout_seconds: float = 10.0,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        if switches is None:
            switches = SandboxSwitches.from_env(os.environ)
        self.secret_key = secret_key
        self.publishable_key = publishable_key
        self.endpoints = WebhookEndpoints()
        self.webhooks = WebhookDispatcher(
            self.endpoints,
            settings=switches.webhooks,
            retry=RetryPolicy(time_scale=time_scale),
            timeout_seconds=webhook_timeout_seconds,
        )
        self.faults = FaultInjector(switches.faults)
        self.ledger = Ledger(self.webhooks)
        self.idempotency = IdempotencyKeys()
        self._api = StripeApi(
            self.ledger, self.endpoints, self.idempotency, secret_key=secret_key, publishable_key=publishable_key
        )
        self._control = ControlApi(self.faults, self.webhooks, self.ledger)
        if webhook_url is not None:
            self.add_webhook_endpoint(webhook_url, secret=webhook_secret)

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> PaymentsSandbox:
        self.webhooks.start()
        return self

    def stop(self) -> None:
        """Stop delivering (pending deliveries stay queued) and let go of requests held by faults."""
        self.faults.release_holds()
        self.webhooks.stop()

    def __enter__(self) -> PaymentsSandbox:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- switches ------------------------------------------------------------------------------------------

    def switches(self) -> dict[str, Any]:
        """The faults and webhook settings in force (`GET /_sandbox/switches`)."""
        return self._control.switches()

    def apply_switches(self, switches: SandboxSwitches) -> None:
        """Replace the faults and the webhook settings (`PUT /_sandbox/switches`)."""
        self._control.apply(switches)

    def fault_counts(self) -> dict[str, dict[str, int]]:
        """Requests that met a fault, by kind, and deliveries the webhook switches changed."""
        return {"provider": self.faults.counts(), "webhooks": self.webhooks.counts()}

    # -- webhooks ------------------------------------------------------------------------------------------

    def add_webhook_endpoint(
        self,
        url: str,
        *,
        secret: str | None = None,
        enabled_events: Sequence[str] = ("*",),
        description: str | None = None,
    ) -> WebhookEndpoint:
        """Register where events go; the returned endpoint's `secret` verifies their signatures."""
        return self.endpoints.add(url, secret=secret, enabled_events=enabled_events, description=description)

    def remove_webhook_endpoint(self, endpoint_id: str) -> bool:
        return self.endpoints.remove(endpoint_id) is not None

    @property
    def webhook_endpoints(self) -> list[WebhookEndpoint]:
        return self.endpoints.all()

    def deliveries(self) -> list[DeliveryAttempt]:
        return self.webhooks.deliveries()

    # -- WSGI ----------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        response = self._respond(request)
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            return self._control.handle(request)
        if request.method == "OPTIONS":
            return Response(status=204, headers=_CORS)
        request_id = new_id("req", 14)
        fault = self.faults.take(request.method, request.path) if request.path.startswith("/v1/") else None
        if fault is None:
            return self._cors(self._api.handle(request, request_id))
        spec, released = fault
        if spec.kind == "error":
            return self._failure(spec.status, "An unknown error occurred (injected by the local payments sandbox).")
        if spec.kind == "timeout":
            released.wait(spec.seconds)
            return self._failure(504, "The request timed out before it was processed (injected by the sandbox).")
        response = self._api.handle(request, request_id)
        released.wait(spec.seconds)  # "slow": the work is done, only the answer is late
        return self._cors(response)

    def _failure(self, status: int, message: str) -> Response:
        error = api_error(status, message)
        response = Response(json.dumps(error.body(), indent=2), status=status, content_type="application/json")
        response.headers["Request-Id"] = new_id("req", 14)
        return self._cors(response)

    @staticmethod
    def _cors(response: Response) -> Response:
        response.headers.update(_CORS)
        return response
