"""The faults room's component (a service: it must intercept the edge before the Data API does) and its
endpoint on the edge, `/_localcloud/faults`:

GET     the switches in force and what they did: `{"kills", "aws", "payments", "counts": {"kills": {function:
        n}, "aws": {"service:operation:error": n}, "payments": {"provider": {kind: n}, "webhooks": {...}}}}`
PUT     replace the kills and the AWS faults (omitted: cleared) and, when given, the payments switches
        (omitted: left as they are); 400 and nothing changed when any part is invalid
DELETE  clear every switch (counts are kept: they count since the local cloud started)

`payments` is the payments sandbox's own switches (`localcloud.payments.switches`: provider errors, timeouts,
slow answers; webhooks paused, duplicated, out of order, lost), null when the cloud runs no sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from localcloud.context import CloudContext, LocalCloudError
from localcloud.faults.aws import AwsFaultInjector
from localcloud.faults.kills import WorkerKiller
from localcloud.faults.switches import FaultSwitches, InvalidFaults
from localcloud.payments.component import PaymentsService
from localcloud.payments.sandbox import PaymentsSandbox
from localcloud.payments.switches import SandboxSwitches

CONTROL_PATH = "/_localcloud/faults"


class FaultsService:
    def __init__(self) -> None:
        self.killer = WorkerKiller()
        self.aws = AwsFaultInjector()
        self._switches = FaultSwitches()
        self._cloud: CloudContext | None = None

    def start(self, cloud: CloudContext) -> None:
        self._cloud = cloud
        cloud.runtime.kill_hook = self.killer.arm
        cloud.edge.intercept(lambda _service, environ: environ.get("PATH_INFO") == CONTROL_PATH, self._control)
        cloud.edge.intercept(self.aws.matches, self.aws)

    def stop(self) -> None:
        if self._cloud is not None:
            self._cloud.runtime.kill_hook = None
            self._cloud = None
        self.aws.configure(())

    # ------------------------------------------------------------------ the switches
    def state(self) -> dict[str, Any]:
        sandbox = self._sandbox()
        return {
            "kills": [kill.to_json() for kill in self._switches.kills],
            "aws": [fault.to_json() for fault in self._switches.aws],
            "payments": sandbox.switches() if sandbox is not None else None,
            "counts": {
                "kills": self.killer.counts(),
                "aws": self.aws.counts(),
                "payments": sandbox.fault_counts() if sandbox is not None else None,
            },
        }

    def apply(self, switches: FaultSwitches) -> None:
        """Replace the switches (payments only when given); InvalidFaults, and nothing changed, if any is invalid."""
        sandbox = self._sandbox()
        probabilities = {}
        for kill in switches.kills:
            fn = self._cloud.runtime.find(kill.function) if self._cloud is not None else None
            if fn is None:
                raise InvalidFaults(f"no function {kill.function!r} in the template")
            probabilities[fn.logical_id] = kill.probability
        if switches.payments is not None and sandbox is None:
            raise InvalidFaults("this local cloud runs no payments sandbox")
        try:
            payments = None if switches.payments is None else SandboxSwitches.from_json(switches.payments)
        except ValueError as error:
            raise InvalidFaults(f"payments: {error}") from error
        self.killer.configure(probabilities)
        self.aws.configure(switches.aws)
        if sandbox is not None and payments is not None:
            sandbox.apply_switches(payments)
        self._switches = switches

    def _sandbox(self) -> PaymentsSandbox | None:
        """The running payments sandbox, if this cloud has one (it starts after this room)."""
        if self._cloud is None:
            return None
        try:
            return self._cloud.component(PaymentsService).sandbox
        except (LocalCloudError, RuntimeError):  # no sandbox in this cloud, or not started yet
            return None

    # ------------------------------------------------------------------ the endpoint
    def _control(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        status, body = "200 OK", None
        try:
            if method == "PUT":
                self.apply(FaultSwitches.from_json(_json_body(environ)))
            elif method == "DELETE":
                self.apply(FaultSwitches(payments={} if self._sandbox() is not None else None))
            elif method != "GET":
                status, body = "405 Method Not Allowed", {"message": f"{method} is not allowed on {CONTROL_PATH}"}
        except InvalidFaults as error:
            status, body = "400 Bad Request", {"message": str(error)}
        data = json.dumps(self.state() if body is None else body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


def _json_body(environ: dict[str, Any]) -> Any:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        return json.loads(raw or b"{}")
    except ValueError as error:
        raise InvalidFaults(f"malformed JSON: {error}") from error
