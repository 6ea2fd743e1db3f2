"""The edge endpoint: one port for every AWS API the handlers call (`AWS_ENDPOINT_URL`).

Requests are routed by the service in their SigV4 credential scope. Gates (`gate`: IAM enforcement,
`localcloud.iam`) see every request first and may answer it themselves. Services the local cloud runs
itself (Lambda Invoke: `localcloud.lambda_service.invoke_api`, the RDS Data API) are registered as interceptors;
everything else goes to moto's server app. DynamoDB requests are serialised: moto checks a
condition and applies the write in two steps without a lock, and the local cloud must keep
conditional writes atomic under concurrency exactly as DynamoDB does; so a Query reads only its candidates
(`localcloud.dynamodb.queries`), or one slow Query of a big table would hold up every other DynamoDB call.
moto's model instances are recorded weakly (`localcloud.moto_instances`): otherwise every item copy of every
DynamoDB answer stays in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from localcloud.dynamodb.partition_limit import PartitionLimit
from localcloud.dynamodb.queries import accelerate_queries
from localcloud.moto_instances import track_instances_weakly
from localcloud.usage import Usage

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Predicate = Callable[[str, dict[str, Any]], bool]
Gate = Callable[[str, dict[str, Any]], WsgiApp | None]  # None: let the request through


def signing_service(environ: dict[str, Any]) -> str:
    """The service name in a SigV4 Authorization header ("dynamodb", "lambda", "rds-data", ...), or ""."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        return scope.split("/")[3].lower()
    except IndexError:
        return ""


class EdgeApp:
    """WSGI app: gates first, then interceptors (each in registration order), then moto."""

    def __init__(self, usage: Usage | None = None) -> None:
        track_instances_weakly()  # moto would keep every item copy it ever answered with
        accelerate_queries()  # moto's Query would walk and sort the whole table (localcloud.dynamodb.queries)
        self._moto = DomainDispatcherApplication(create_backend_app)
        self._interceptors: list[tuple[Predicate, WsgiApp]] = []
        self._gates: list[Gate] = []
        self._dynamodb_lock = threading.Lock()
        self._usage = usage
        self.partition_limit = PartitionLimit.installed_on(self)

    def intercept(self, predicate: Predicate, app: WsgiApp) -> None:
        """Route requests for which `predicate(service, environ)` holds to `app` instead of moto."""
        self._interceptors.append((predicate, app))

    def gate(self, gate: Gate) -> None:
        """Let `gate(service, environ)` answer any request before it is routed (it returns None to pass it on)."""
        self._gates.append(gate)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        service = signing_service(environ)
        if self._usage is not None and service:
            self._usage.record_call(service, environ)
        for gate in self._gates:
            answer = gate(service, environ)
            if answer is not None:
                return answer(environ, start_response)
        for predicate, app in self._interceptors:
            if predicate(service, environ):
                return app(environ, start_response)
        if service == "dynamodb":
            with self._dynamodb_lock:
                # Materialise the body inside the lock: the write happens while the response is built.
                return list(self._moto(environ, start_response))
        return self._moto(environ, start_response)
