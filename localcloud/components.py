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

from typing import TYPE_CHECKING, Any

from localcloud import http_api
from localcloud.cfn_yaml import load_template_file
from localcloud.event_sources import EventSources, InvokeOutcome, enable_stepfunctions_execution
from localcloud.lambda_runtime import FunctionError, FunctionThrottled
from localcloud.orders_db import DataApiApp, OrdersDatabase, is_data_api, orders_database
from localcloud.payments import PaymentsSandbox
from localcloud.server import BackgroundServer

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
        self.sandbox = PaymentsSandbox(time_scale=cloud.time_scale).start()
        self._server = BackgroundServer(self.sandbox, cloud.host, cloud.payments_port, name="localcloud-payments")
        self._server.start()
        if PAYMENTS_URL_PARAMETER in load_template_file(cloud.template_path).get("Parameters", {}):
            cloud.parameter_overrides.setdefault(PAYMENTS_URL_PARAMETER, self._server.url)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self.sandbox is not None:
            self.sandbox.stop()


class StepFunctionsService:
    def start(self, cloud: LocalCloud) -> None:
        enable_stepfunctions_execution(cloud.edge_url, time_scale=cloud.time_scale)

    def stop(self) -> None:
        return


class HttpApiService:
    """Mounts the template's HTTP API on the API port (the local cloud serves one API)."""

    def __init__(self) -> None:
        self._cloud: LocalCloud | None = None

    def start(self, cloud: LocalCloud) -> None:
        self._cloud = cloud
        if not cloud.app.http_apis:
            return
        api = cloud.app.http_apis[0]
        gateway = http_api.HttpApiGateway(
            api,
            self._invoke,
            http_api.CognitoJwks(cloud.edge_url),
            region=cloud.region,
            account_id=cloud.app.account_id,
            api_id=api.api_id or api.logical_id,
        )
        cloud.api.mount(gateway)

    def _invoke(self, function: str, event: dict[str, Any]) -> Any:
        """The runtime's failures in the router's terms: 502 for a failed function, 500 for a refusal."""
        assert self._cloud is not None
        try:
            return self._cloud.invoke(function, event)
        except FunctionError as error:
            raise http_api.FunctionError(str(error), error_type=error.error_type) from error
        except FunctionThrottled as error:
            raise http_api.InvocationRejected(str(error)) from error

    def stop(self) -> None:
        self._cloud = None


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
