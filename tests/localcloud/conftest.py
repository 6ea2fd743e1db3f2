"""Fixtures for tests of (and against) the local cloud.

- `local_cloud` (in tests/conftest.py): the whole project's local cloud, once per test session.
- `start_local_cloud`: starts a LocalCloud for one test (stopped at teardown), for a throwaway project.
- `throwaway_project`: a small template.yaml with tiny functions under tmp_path, for runtime edge cases
  (timeouts, crashes) that the real functions must never have.
- `edge_url`: a bare edge (moto, nothing intercepted) on a free port for one test, for the event-source tests.
"""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from localcloud.cloud import LocalCloud
from localcloud.lambda_service.runtime import LogSink
from tests.support.event_sources import running_edge

ROOT = Path(__file__).resolve().parents[2]


def unique_stack_name(prefix: str = "lc") -> str:
    """moto's state is per process: every LocalCloud of a test process needs its own stack name."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class ThrowawayProject:
    """A project directory with its own template.yaml; resources are added as CloudFormation dicts."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.parameters: dict[str, Any] = {}
        self.resources: dict[str, Any] = {}
        self.outputs: dict[str, Any] = {}
        self.transform = True

    def function(
        self,
        logical_id: str,
        code: str,
        *,
        timeout: int = 10,
        memory: int = 128,
        reserved_concurrency: int | None = None,
        environment: dict[str, Any] | None = None,
        events: dict[str, Any] | None = None,
        layers: list[Any] | None = None,
        handler: str = "app.handler",
        **properties: Any,
    ) -> Path:
        """A Python function whose app.py is `code` (dedented); returns its code directory."""
        code_dir = self.root / "functions" / logical_id
        code_dir.mkdir(parents=True, exist_ok=True)
        (code_dir / "app.py").write_text(textwrap.dedent(code))
        props: dict[str, Any] = {
            "CodeUri": f"functions/{logical_id}/",
            "Handler": handler,
            "Runtime": "python3.13",
            "Timeout": timeout,
            "MemorySize": memory,
            **properties,
        }
        if reserved_concurrency is not None:
            props["ReservedConcurrentExecutions"] = reserved_concurrency
        if environment:
            props["Environment"] = {"Variables": environment}
        if events:
            props["Events"] = events
        if layers:
            props["Layers"] = layers
        self.resources[logical_id] = {"Type": "AWS::Serverless::Function", "Properties": props}
        return code_dir

    def resource(
        self, logical_id: str, resource_type: str, properties: dict[str, Any] | None = None, **extra: Any
    ) -> None:
        self.resources[logical_id] = {
            "Type": resource_type,
            **({"Properties": properties} if properties else {}),
            **extra,
        }

    def write(self) -> Path:
        document: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09"}
        if self.transform:
            document["Transform"] = "AWS::Serverless-2016-10-31"
        if self.parameters:
            document["Parameters"] = self.parameters
        document["Resources"] = self.resources
        if self.outputs:
            document["Outputs"] = self.outputs
        path = self.root / "template.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path


@pytest.fixture
def throwaway_project(tmp_path: Path) -> ThrowawayProject:
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    return ThrowawayProject(project_dir)


class LogLines:
    """A log sink that keeps every (function, line) it receives."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __call__(self, function: str, line: str) -> None:
        self.lines.append((function, line))

    def of(self, function: str) -> list[str]:
        return [line for fn, line in self.lines if fn == function]


@pytest.fixture
def log_lines() -> LogLines:
    return LogLines()


@pytest.fixture
def start_local_cloud(tmp_path: Path) -> Iterator[Callable[..., LocalCloud]]:
    """`start_local_cloud(project_dir, **options)`: a started LocalCloud, stopped when the test ends."""
    started: list[LocalCloud] = []

    def start(project_dir: Path, *, log_sink: LogSink | None = None, **options: Any) -> LocalCloud:
        options.setdefault("state_dir", tmp_path / f"state-{len(started)}")
        options.setdefault("stack_name", unique_stack_name())
        options.setdefault("services", [])
        options.setdefault("consumers", [])
        if log_sink is not None:
            options["log_sink"] = log_sink
        cloud = LocalCloud(project_dir, **options)
        started.append(cloud)
        return cloud.start()

    yield start
    for cloud in reversed(started):
        cloud.stop()


@pytest.fixture
def edge_url() -> Iterator[str]:
    with running_edge() as url:
        yield url
