"""What a room's component sees of the running local cloud, and what a project may add to it.

Every room (`localcloud/<room>/`) exports a component: an object with `start(cloud)` and `stop()`, where `cloud`
is a `CloudContext`. `localcloud.cloud.LocalCloud` is the one implementation; it starts components in phases,
each phase a plain list:

1. services: before the stack is provisioned (they add edge gates or interceptors, template parameter overrides,
   resource listeners);
2. consumers: once the stack is provisioned and its functions run (`cloud.app`, `cloud.invoke`);
3. glue: last, once the API front door serves too; a project's own wiring (demo data, registrations).

Within a phase components start in list order and stop in reverse; no component adds another while the
cloud starts. A component that needs another one's running state asks for it by type:
`cloud.component(PaymentsService).sandbox`.

A project hands its additions to the generic CLI (`localcloud.__main__.main(argv, extension=...)`) as an
`Extension`: this repository's is `devcloud`, so `python -m devcloud run` is `make run`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from localcloud.lambda_service.runtime import LambdaRuntime
    from localcloud.model import LocalApp
    from localcloud.template import ResourceListener

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Predicate = Callable[[str, dict[str, Any]], bool]
C = TypeVar("C")


class Edge(Protocol):
    def intercept(self, predicate: Predicate, app: WsgiApp) -> None:
        """Route requests for which `predicate(service, environ)` holds to `app` instead of moto."""

    def gate(self, gate: Callable[[str, dict[str, Any]], WsgiApp | None]) -> None:
        """Let `gate(service, environ)` answer any request first (None passes it on)."""


class FrontDoor(Protocol):
    def mount(self, app: WsgiApp) -> None:
        """Serve `app` on the API port."""


class CloudContext(Protocol):
    """The running local cloud, as components read and extend it."""

    # Where and how it runs (fixed at construction).
    state_dir: Path
    template_path: Path
    host: str
    region: str
    time_scale: float
    # Services may add template parameters before provisioning; any component may add outputs and banner notes.
    parameter_overrides: dict[str, str]
    output_overrides: dict[str, Any]
    notes: list[str]
    # Services may listen to each resource as provisioning creates it (`localcloud.template.ResourceListener`).
    resource_listeners: list[ResourceListener]

    @property
    def template(self) -> dict[str, Any]:
        """The template as written (read once; `LocalCloudTemplateError` if it cannot be read)."""

    @property
    def edge(self) -> Edge: ...

    @property
    def api(self) -> FrontDoor: ...

    @property
    def runtime(self) -> LambdaRuntime: ...

    @property
    def app(self) -> LocalApp:
        """The provisioned stack (from the consumers phase on)."""

    @property
    def outputs(self) -> dict[str, Any]:
        """The stack's outputs as this machine serves them (what outputs.json holds)."""

    @property
    def edge_url(self) -> str: ...

    @property
    def api_url(self) -> str: ...

    def scaled(self, seconds: float) -> float:
        """A duration of the real cloud as the local clock runs it."""

    def invoke(self, function: str, event: Any) -> Any:
        """Run a function of the stack synchronously and return its result."""

    def client(self, service: str) -> Any:
        """A boto3 client for a local service, as a handler would make one."""

    def component(self, kind: type[C]) -> C:
        """The started component of type `kind` (LocalCloudError when there is none)."""


class Component(Protocol):
    """A part of the local cloud with its own lifecycle; `stop` must be safe after a partial `start`."""

    def start(self, cloud: CloudContext) -> None: ...

    def stop(self) -> None: ...


class Extension(Protocol):
    """A project's additions to the generic local cloud, handed to it by the project's CLI entry point."""

    stack_name: str  # the local stack's name (physical names derive from it)

    def services(self) -> list[Component]:
        """Started after the built-in services, before provisioning: e.g. template parameters from their URLs."""

    def glue(self, *, demo_data: bool) -> list[Component]:
        """Started last; `demo_data` is False under `run --no-seed`."""

    def prepare_event(self, function: str, event: bytes, outputs: dict[str, Any]) -> bytes:
        """`invoke`'s event as the function is given it: the one place a project fills in what a sample file
        cannot hold literally (a signature over a fresh timestamp, say), from the running stack's outputs."""


class LocalCloudError(Exception):
    """The local cloud cannot start (state directory in use, a component failed), or lacks a component asked for."""
