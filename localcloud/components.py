"""The parts of the local cloud that plug into `LocalCloud`: each has `start(cloud)` and `stop()`.

Services start before the stack is provisioned (they add edge interceptors or template parameters):
- `OrdersDatabaseService`: PostgreSQL (embedded, data under <state_dir>/postgres, or LOCALCLOUD_POSTGRES_URL)
  behind the local RDS Data API on the edge; the stack's migration custom resource then runs against it.
- `PaymentsService`: the Stripe-compatible sandbox on its own port; its URL becomes the template's
  `PaymentsApiUrl` parameter, so functions reach it exactly as they would reach Stripe.
- `StepFunctionsService`: real execution of state machines (must be on before any machine exists).

Consumers start once the stack is provisioned and its functions can run:
- `HttpApiService`: API Gateway's HTTP API router, mounted on the API port.
- `EventSourcesService`: SQS and stream pollers, schedules, EventBridge rule targets, TTL expiry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from localcloud import http_api
from localcloud.event_sources import EventSources, InvokeOutcome, enable_stepfunctions_execution
from localcloud.orders_db import DataApiApp, OrdersDatabase, is_data_api, orders_database
from localcloud.payments import PaymentsSandbox
from localcloud.server import BackgroundServer
from localcloud.template import read_template

if TYPE_CHECKING:
    from localcloud.cloud import LocalCloud

ORDERS_DB_NAME_PARAMETER = "OrdersDbName"
PAYMENTS_URL_PARAMETER = "PaymentsApiUrl"
DEFAULT_ORDERS_DB = "commerce"


class OrdersDatabaseService:
    def __init__(self) -> None:
        self._database: OrdersDatabase | None = None
        self._data_api: DataApiApp | None = None

    def start(self, cloud: LocalCloud) -> None:
        name = cloud.parameter_overrides.get(ORDERS_DB_NAME_PARAMETER, DEFAULT_ORDERS_DB)
        self._database = orders_database(cloud.state_dir / "postgres", database=name)
        conninfo = self._database.start()
        self._data_api = DataApiApp(conninfo, database=name)
        cloud.edge.intercept(is_data_api, self._data_api)

    def stop(self) -> None:
        if self._data_api is not None:
            self._data_api.close()
        if self._database is not None:
            self._database.stop()


class PaymentsService:
    def __init__(self) -> None:
        self.sandbox: PaymentsSandbox | None = None
        self._server: BackgroundServer | None = None

    def start(self, cloud: LocalCloud) -> None:
        # The sandbox multiplies its retry intervals by its time scale; the cloud's runs time that many times faster.
        self.sandbox = PaymentsSandbox(time_scale=1 / cloud.time_scale).start()
        self._server = BackgroundServer(self.sandbox, cloud.host, cloud.payments_port, name="localcloud-payments")
        self._server.start()
        if PAYMENTS_URL_PARAMETER in (read_template(cloud.template_path).get("Parameters") or {}):
            cloud.parameter_overrides.setdefault(PAYMENTS_URL_PARAMETER, self._server.url)

    def stop(self) -> None:
        # The sandbox first: it lets go of requests held by injected faults, so the server's threads can finish.
        if self.sandbox is not None:
            self.sandbox.stop()
        if self._server is not None:
            self._server.stop()


class StepFunctionsService:
    """Real state machine executions. Their switches are process-wide: one such service per process at a time."""

    def __init__(self) -> None:
        self._restore: Callable[[], None] | None = None

    def start(self, cloud: LocalCloud) -> None:
        self._restore = enable_stepfunctions_execution(cloud.edge_url, time_scale=cloud.time_scale)

    def stop(self) -> None:
        restore, self._restore = self._restore, None
        if restore is not None:
            restore()


class HttpApiService:
    """Mounts the template's HTTP API on the API port (the local cloud serves one API).

    The router reads the runtime's own failures: 502 for a function that failed, 500 for a refusal.
    """

    def __init__(self) -> None:
        self._jwks: http_api.CognitoJwks | None = None

    def start(self, cloud: LocalCloud) -> None:
        if not cloud.app.http_apis:
            return
        api = cloud.app.http_apis[0]
        self._jwks = http_api.CognitoJwks(cloud.edge_url)
        gateway = http_api.HttpApiGateway(
            api,
            cloud.invoke,
            self._jwks,
            region=cloud.region,
            account_id=cloud.app.account_id,
            api_id=api.api_id or api.logical_id,
        )
        cloud.api.mount(gateway)

    def stop(self) -> None:
        if self._jwks is not None:
            self._jwks.close()
            self._jwks = None


class EventSourcesService:
    def __init__(self) -> None:
        self._sources: EventSources | None = None

    def start(self, cloud: LocalCloud) -> None:
        def invoke(function: str, payload: bytes, invocation_type: str) -> InvokeOutcome:
            result = cloud.runtime.invoke_api(function, payload, invocation_type)
            return InvokeOutcome(result.status_code, result.payload, result.function_error)

        self._sources = EventSources(cloud.app, edge_url=cloud.edge_url, invoke=invoke, time_scale=cloud.time_scale)
        self._sources.start()

    def stop(self) -> None:
        if self._sources is not None:
            self._sources.stop()
