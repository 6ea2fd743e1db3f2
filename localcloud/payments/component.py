"""The payments room's component: the Stripe-compatible sandbox on its own port (a service: it runs before
provisioning, so a project's glue can hand its URL to the template as a parameter; see devcloud).

`url` is where it serves, `sandbox` the running `PaymentsSandbox` (keys, webhook endpoints, switches).
"""

from __future__ import annotations

from localcloud.context import CloudContext
from localcloud.payments.sandbox import PaymentsSandbox
from localcloud.server import BackgroundServer


class PaymentsService:
    def __init__(self, *, port: int = 0) -> None:
        self._port = port
        self._sandbox: PaymentsSandbox | None = None
        self._server: BackgroundServer | None = None

    @property
    def sandbox(self) -> PaymentsSandbox:
        if self._sandbox is None:
            raise RuntimeError("the payments sandbox is not running")
        return self._sandbox

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the payments sandbox is not running")
        return self._server.url

    def start(self, cloud: CloudContext) -> None:
        # The sandbox multiplies its retry intervals by its time scale; the cloud's runs time that many times faster.
        self._sandbox = PaymentsSandbox(time_scale=1 / cloud.time_scale).start()
        self._server = BackgroundServer(self._sandbox, cloud.host, self._port, name="localcloud-payments")
        self._server.start()

    def stop(self) -> None:
        # The sandbox first: it lets go of requests held by injected faults, so the server's threads can finish.
        if self._sandbox is not None:
            self._sandbox.stop()
        if self._server is not None:
            self._server.stop()
