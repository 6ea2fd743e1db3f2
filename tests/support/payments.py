"""Helpers shared by the payments sandbox tests (this module holds no tests).

- `served_sandbox`: a `PaymentsSandbox` on a random port, with its delivery worker running.
- `stripe_client`: the official `stripe` client pointed at it.
- `WebhookReceiver`: a tiny HTTP server that records what it is sent and answers scripted statuses.
- `wait_until` (from `tests.support.waiting`): poll a condition with a generous bound, never a timing assertion.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import stripe

from localcloud.payments import PaymentsSandbox, SandboxSwitches
from localcloud.server import BackgroundServer
from tests.support.waiting import wait_until

SECRET_KEY = "sk_test_payments_tests"
# Webhook retries 1 s, 2 s, 4 s, ... become 1 ms, 2 ms, 4 ms: tests see retries without waiting for them.
TIME_SCALE = 0.001


@dataclass(frozen=True)
class Served:
    sandbox: PaymentsSandbox
    url: str


@contextmanager
def served_sandbox(**options: Any) -> Iterator[Served]:
    options.setdefault("secret_key", SECRET_KEY)
    options.setdefault("time_scale", TIME_SCALE)
    options.setdefault("switches", SandboxSwitches())  # never the environment's
    sandbox = PaymentsSandbox(**options)
    with BackgroundServer(sandbox, name="payments-sandbox") as server, sandbox:
        yield Served(sandbox, server.url)


def stripe_client(url: str, *, retries: int = 0, timeout: float = 30.0, key: str = SECRET_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(
        key,
        base_addresses={"api": url},
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def replayed(obj: stripe.StripeObject) -> str | None:
    """The `Idempotent-Replayed` header of the answer `obj` came from."""
    assert obj.last_response is not None
    value = obj.last_response.headers.get("Idempotent-Replayed")
    return None if value is None else str(value)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def signature(self) -> str:
        return self.headers.get("Stripe-Signature", "")


class WebhookReceiver:
    """Records every POST; answers the scripted statuses in turn, then 200."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self._statuses = list(statuses or [])
        self._received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver._record(Received(self.path, dict(self.headers.items()), body))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="webhook-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/payments/stripe"

    def _record(self, received: Received) -> int:
        with self._lock:
            self._received.append(received)
            return self._statuses.pop(0) if self._statuses else 200

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def wait_for(self, count: int) -> list[Received]:
        wait_until(lambda: len(self.received()) >= count, f"{count} webhook requests")
        return self.received()

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
