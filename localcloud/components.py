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
- `PaymentsWebhookRegistration` (added by `PaymentsService`): the sandbox's key and a webhook endpoint for the
  API, with their secrets in the stack's `PaymentsApiKeySecret` and `PaymentsWebhookSecret`.
"""

from __future__ import annotations

import secrets
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
# What PaymentsWebhookRegistration wires up: the template's payment secrets, its webhook route and the event
# types that webhook acts on.
PAYMENTS_API_KEY_SECRET = "PaymentsApiKeySecret"  # noqa: S105 - a logical id, not a secret
PAYMENTS_WEBHOOK_SECRET = "PaymentsWebhookSecret"  # noqa: S105 - a logical id, not a secret
PAYMENTS_WEBHOOK_PATH = "/webhooks/payments/stripe"
PAYMENTS_WEBHOOK_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled")


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
    """The sandbox, before provisioning (its URL is a template parameter); once the stack and its API run,
    `PaymentsWebhookRegistration` (which `start` adds to the cloud's consumers) wires the two together."""

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
        # Consumers start after provisioning, in order: this one after the HTTP API is mounted.
        cloud.consumers.append(PaymentsWebhookRegistration(self.sandbox))

    def stop(self) -> None:
        # The sandbox first: it lets go of requests held by injected faults, so the server's threads can finish.
        if self.sandbox is not None:
            self.sandbox.stop()
        if self._server is not None:
            self._server.stop()


class PaymentsWebhookRegistration:
    """What an operator does after deploying, done by the local cloud once the stack is provisioned and its API
    serves: the sandbox's secret key goes into `PaymentsApiKeySecret`, and a sandbox webhook endpoint for
    `<ApiUrl>/webhooks/payments/stripe` (the event types the webhook handles) is registered, its signing secret
    put into `PaymentsWebhookSecret`. Templates without those secrets or that route are left alone."""

    def __init__(self, sandbox: PaymentsSandbox) -> None:
        self._sandbox = sandbox
        self._endpoint_id: str | None = None

    def start(self, cloud: LocalCloud) -> None:
        secretsmanager = cloud.client("secretsmanager")
        key_secret = cloud.app.physical_ids.get(PAYMENTS_API_KEY_SECRET)
        if key_secret:
            secretsmanager.put_secret_value(SecretId=key_secret, SecretString=self._sandbox.secret_key)
        webhook_secret = cloud.app.physical_ids.get(PAYMENTS_WEBHOOK_SECRET)
        served = any(route.path == PAYMENTS_WEBHOOK_PATH for api in cloud.app.http_apis for route in api.routes)
        if webhook_secret and served:
            # The secret is stored before the endpoint exists: its first event must already verify.
            signing_secret = f"whsec_{secrets.token_urlsafe(24)}"
            secretsmanager.put_secret_value(SecretId=webhook_secret, SecretString=signing_secret)
            endpoint = self._sandbox.add_webhook_endpoint(
                f"{cloud.api_url}{PAYMENTS_WEBHOOK_PATH}",
                secret=signing_secret,
                enabled_events=PAYMENTS_WEBHOOK_EVENTS,
                description="local cloud: the stack's payment webhook",
            )
            self._endpoint_id = endpoint.id

    def stop(self) -> None:
        endpoint_id, self._endpoint_id = self._endpoint_id, None
        if endpoint_id is not None:
            self._sandbox.remove_webhook_endpoint(endpoint_id)


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
