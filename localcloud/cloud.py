"""The local cloud as one object: start everything a SAM template needs, on this machine, and stop it all.

`LocalCloud.start()` brings things up in the order they depend on each other:

1. the edge (moto + interceptors) on `edge_port`, and the Lambda runtime behind its Invoke API;
2. the *services*: components that must exist before the stack is provisioned, because they add
   edge interceptors (the RDS Data API) or template parameter overrides;
3. the stack itself: the template loaded, SAM-transformed and provisioned through the edge, each
   function registered with the runtime as soon as it exists (custom resources can run it);
4. the API front door on `api_port`, then the *consumers*: components that need the provisioned app
   (`cloud.app`) and running functions (`cloud.invoke`): the HTTP API router, event sources;
5. the *glue*: a project's own components (demo data, registrations between its services and its stack);
6. `<state_dir>/outputs.json` once the API answers.

`stop()` undoes it in reverse, whatever state `start()` reached, and leaves no process behind.

Each room exports its component (`localcloud/<room>/component.py`, against `localcloud.context`); the rooms
the local cloud runs are the plain lists of `default_services()` and `default_consumers()` below: a new room's
component is one line in one of them. A project's glue comes from its `Extension` (`localcloud.context`),
handed over by its CLI entry point (this repository's: `python -m devcloud`).

`cloud.invoke(function, event)` returns the function's result, or raises
`localcloud.lambda_service.runtime.FunctionError` (it ran and failed: raised, crashed, timed out) or
`FunctionThrottled` (reserved concurrency exhausted). Callers that speak Lambda's Invoke API
(status, payload, X-Amz-Function-Error) use `cloud.runtime.invoke_api(function, payload, invocation_type)`.

Within one process, moto's state is shared: two LocalClouds running at once need different
`stack_name`s (tests use unique ones).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import requests

from localcloud.aws import edge_client
from localcloud.cognito_gate import check_totp_codes, cognito_gate
from localcloud.context import Component, LocalCloudError, WsgiApp
from localcloud.edge import EdgeApp
from localcloud.event_sources.component import EventSourcesService
from localcloud.faults.component import FaultsService
from localcloud.http_api.component import HttpApiService
from localcloud.iam.component import IamService, enforced_by_default
from localcloud.lambda_service.invoke_api import LambdaInvokeApi
from localcloud.lambda_service.runtime import (
    DEFAULT_CONCURRENCY,
    DEFAULT_IDLE_SECONDS,
    LambdaRuntime,
    LogSink,
    stderr_sink,
)
from localcloud.model import LocalApp
from localcloud.orders_db.component import OrdersDatabaseService
from localcloud.payments.component import PaymentsService
from localcloud.provision import provision
from localcloud.server import BackgroundServer
from localcloud.static_sites.component import StaticSitesService
from localcloud.stepfunctions.component import StepFunctionsService
from localcloud.template import Identity, ResourceListener, load_stack, read_template
from localcloud.usage import Usage

logger = logging.getLogger(__name__)

STATE_MARKER = ".localcloud-state"
_claimed_state_dirs: set[Path] = set()  # by the LocalClouds of this process
OUTPUTS_FILE = "outputs.json"
PID_FILE = "localcloud.pid"

DEFAULT_STACK_NAME = "localcloud"
C = TypeVar("C")


def default_services(*, iam: bool | None = None) -> list[Component]:
    """The rooms started before provisioning (they add edge interceptors or serve what parameters point at).

    `iam`: enforce IAM on the functions' calls (`localcloud.iam`); by default unless `LOCALCLOUD_IAM=off`.
    """
    enforce_iam = enforced_by_default() if iam is None else iam
    return [
        *([IamService()] if enforce_iam else []),
        FaultsService(),  # first interceptor: it answers injected errors before the Data API's
        StepFunctionsService(),
        OrdersDatabaseService(),
        PaymentsService(),
    ]


def default_consumers() -> list[Component]:
    """The rooms started once the stack is provisioned and its functions can run."""
    return [
        HttpApiService(),
        EventSourcesService(),
        StaticSitesService(),
    ]


class ApiFrontDoor:
    """The WSGI app on the API port: what is mounted on it, or API Gateway's 404 until something is."""

    def __init__(self) -> None:
        self._app: WsgiApp | None = None

    def mount(self, app: WsgiApp) -> None:
        self._app = app

    @property
    def mounted(self) -> bool:
        return self._app is not None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self._app is not None:
            return self._app(environ, start_response)
        body = b'{"message":"Not Found"}'
        start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


class LocalCloud:
    def __init__(
        self,
        project_dir: Path | str = ".",
        *,
        state_dir: Path | str = ".localcloud",
        host: str = "127.0.0.1",
        edge_port: int = 0,
        api_port: int = 0,
        time_scale: float = 1.0,
        reset: bool = False,
        region: str = "us-east-1",
        stack_name: str = DEFAULT_STACK_NAME,
        parameter_overrides: dict[str, str] | None = None,
        services: Sequence[Component] | None = None,
        consumers: Sequence[Component] | None = None,
        glue: Sequence[Component] = (),
        default_concurrency: int = DEFAULT_CONCURRENCY,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        log_sink: LogSink = stderr_sink,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.project_dir = Path(project_dir).resolve()
        self.state_dir = (self.project_dir / state_dir).resolve()
        self.template_path = self.project_dir / "template.yaml"
        self.host = host
        self.edge_port = edge_port
        self.api_port = api_port
        self.time_scale = time_scale
        self.reset = reset
        self.region = region
        self.stack_name = stack_name
        # Services may add to these before the stack is loaded; any component may add outputs and notes.
        self.parameter_overrides: dict[str, str] = dict(parameter_overrides or {})
        self.output_overrides: dict[str, Any] = {}
        self.notes: list[str] = []
        self.resource_listeners: list[ResourceListener] = []  # services may add theirs before provisioning
        # The three phases, each started in order (see the module docstring).
        self.services = tuple(default_services() if services is None else services)
        self.consumers = tuple(default_consumers() if consumers is None else consumers)
        self.glue = tuple(glue)
        self.usage = Usage()
        self.edge = EdgeApp(self.usage)
        self.api = ApiFrontDoor()
        # The runtime learns the edge's URL when the edge has its port (start).
        self.runtime = LambdaRuntime(
            endpoint_url="",
            region=region,
            default_concurrency=default_concurrency,
            idle_seconds=idle_seconds,
            async_retry_delays=tuple(self.scaled(d) for d in (60.0, 120.0)),
            log_sink=log_sink,
            usage=self.usage,
        )
        self._app: LocalApp | None = None
        self._template: dict[str, Any] | None = None
        self._edge_server: BackgroundServer | None = None
        self._api_server: BackgroundServer | None = None
        self._started_services: list[Component] = []
        self._started_consumers: list[Component] = []  # consumers, then glue
        self._runtime_started = False
        self._owns_pid_file = False

    # ------------------------------------------------------------------ what components read
    @property
    def app(self) -> LocalApp:
        if self._app is None:
            raise LocalCloudError("the stack is not provisioned yet")
        return self._app

    @property
    def template(self) -> dict[str, Any]:
        """The template as written, read once for the components that look at it before provisioning."""
        if self._template is None:
            self._template = read_template(self.template_path)
        return self._template

    @property
    def edge_url(self) -> str:
        if self._edge_server is None:
            raise LocalCloudError("the edge is not running")
        return f"http://{self.host}:{self._edge_server.port}"

    @property
    def api_url(self) -> str:
        if self._api_server is None:
            raise LocalCloudError("the API is not running")
        return f"http://{self.host}:{self._api_server.port}"

    def scaled(self, seconds: float) -> float:
        """A duration of the real cloud as the local clock runs it: `time_scale` times faster."""
        return seconds / self.time_scale

    def invoke(self, function: str, event: Any) -> Any:
        """Run a function of the stack (logical id, name or ARN) synchronously and return its result.

        Raises `localcloud.lambda_service.runtime.FunctionError` when it raised, crashed or timed out, and
        `FunctionThrottled` when its reserved concurrency is exhausted.
        """
        return self.runtime.invoke(function, event)

    def client(self, service: str) -> Any:
        """A boto3 client for a local service, as a handler would make one."""
        return edge_client(service, endpoint_url=self.edge_url, region=self.region)

    def component(self, kind: type[C]) -> C:
        """The started component of type `kind`, for components that use another's running state."""
        for component in (*self._started_services, *self._started_consumers):
            if isinstance(component, kind):
                return component
        raise LocalCloudError(f"no {kind.__name__} is running in this local cloud")

    @property
    def outputs(self) -> dict[str, Any]:
        """The stack's outputs as this machine serves them (what outputs.json holds)."""
        app = self.app
        return {
            **app.outputs,
            "ApiUrl": self.api_url,
            "AwsEndpointUrl": self.edge_url,
            "Region": self.region,
            **self.output_overrides,
        }

    @property
    def outputs_path(self) -> Path:
        return self.state_dir / OUTPUTS_FILE

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalCloud:
        try:
            self._claim_state_dir()
            self._edge_server = BackgroundServer(self.edge, self.host, self.edge_port, name="localcloud-edge").start()
            self.runtime.endpoint_url = self.edge_url
            check_totp_codes()
            self.edge.gate(cognito_gate)  # Cognito answers moto does not give (admin-only, MFA ON)
            self.edge.intercept(Usage.matches, self.usage)
            self.edge.intercept(LambdaInvokeApi.matches, LambdaInvokeApi(self.runtime))
            self.runtime.start()
            self._runtime_started = True
            for service in self.services:
                self._started_services.append(service)
                service.start(self)
            stack = load_stack(
                self.template_path,
                region=self.region,
                stack_name=self.stack_name,
                parameter_overrides=self.parameter_overrides,
            )
            self._app = provision(
                stack,
                endpoint_url=self.edge_url,
                invoke=self.invoke,
                register_interceptor=self.edge.intercept,
                on_function=self.runtime.register,
                on_resource=self._resource_created,
            )
            self._api_server = BackgroundServer(self.api, self.host, self.api_port, name="localcloud-api").start()
            for component in (*self.consumers, *self.glue):
                self._started_consumers.append(component)
                component.start(self)
            self._wait_until_api_answers()
            self._write_outputs()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop what was started, in the reverse order of `start`; safe to call twice or after a failed start."""
        _stop_newest_first(self._started_consumers)
        if self._api_server is not None:
            self._api_server.stop()
            self._api_server = None
        _stop_newest_first(self._started_services)
        if self._runtime_started:
            self.runtime.stop()
            self._runtime_started = False
        if self._edge_server is not None:
            self._edge_server.stop()
            self._edge_server = None
        if self._owns_pid_file:
            for name in (OUTPUTS_FILE, PID_FILE):
                with contextlib.suppress(FileNotFoundError):
                    (self.state_dir / name).unlink()
            _claimed_state_dirs.discard(self.state_dir)
            self._owns_pid_file = False

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ steps
    def _resource_created(self, logical_id: str, resource_type: str, props: dict[str, Any], identity: Identity) -> None:
        for listener in self.resource_listeners:
            listener(logical_id, resource_type, props, identity)

    def _claim_state_dir(self) -> None:
        """One local cloud per state directory; `reset` empties it (only if it is one of ours)."""
        if self.reset and self.state_dir.exists():
            if not (self.state_dir / STATE_MARKER).exists() and any(self.state_dir.iterdir()):
                raise LocalCloudError(f"{self.state_dir} is not a local cloud state directory; not resetting it")
            if running_cloud_pid(self.state_dir) is not None:
                raise LocalCloudError(f"a local cloud is running from {self.state_dir}; stop it before --reset")
            shutil.rmtree(self.state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / STATE_MARKER).touch()
        pid = running_cloud_pid(self.state_dir)
        if pid is not None or self.state_dir in _claimed_state_dirs:
            raise LocalCloudError(f"another local cloud (pid {pid or os.getpid()}) is running from {self.state_dir}")
        _claimed_state_dirs.add(self.state_dir)
        (self.state_dir / PID_FILE).write_text(f"{os.getpid()}\n")
        self._owns_pid_file = True

    def _wait_until_api_answers(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                requests.get(f"{self.api_url}/", timeout=2)
                return
            except requests.RequestException as error:
                if time.monotonic() > deadline:
                    raise LocalCloudError(f"the API at {self.api_url} does not answer: {error}") from error
                time.sleep(0.05)

    def _write_outputs(self) -> None:
        temporary = self.outputs_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.outputs, indent=2) + "\n")
        temporary.replace(self.outputs_path)


def _stop_newest_first(components: list[Component]) -> None:
    while components:
        component = components.pop()
        try:
            component.stop()
        except Exception:
            # Keep stopping the rest: one component's failure must not leave the others running.
            logger.exception("stopping %s failed", type(component).__name__)


def running_cloud_pid(state_dir: Path) -> int | None:
    """The pid of a live local cloud using `state_dir`, if there is one (a stale pid file is ignored)."""
    try:
        pid = int((state_dir / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid
