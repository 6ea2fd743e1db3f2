"""A local cloud in its own process, as `make run` starts it, for end-to-end tests and benchmarks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from localcloud.tokens import Login, user_token
from tests.support.waiting import wait_for_file

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 120.0


@dataclass
class RunningCloud:
    process: subprocess.Popen[bytes]
    state_dir: Path
    outputs: dict[str, Any]
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return str(self.outputs["ApiUrl"])

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.outputs["AwsEndpointUrl"],
            region_name=self.outputs["Region"],
            aws_access_key_id="e2e",
            aws_secret_access_key="e2e",
        )

    def demo_user(self, group: str | None) -> dict[str, Any]:
        """The first demo user in `group` (None: a user in no group)."""
        for user in self.outputs["DemoUsers"]:
            if (group is None and not user["groups"]) or group in user["groups"]:
                return dict(user)
        raise LookupError(f"no demo user in group {group!r}")

    def id_token(self, group: str | None, kind: str = "IdToken") -> str:
        """A Cognito token of the first demo user in `group`, obtained as a client does (InitiateAuth
        USER_PASSWORD_AUTH against the edge, and the operators' TOTP challenge answered)."""
        key = f"{group}:{kind}"
        if key not in self._tokens:
            login = Login.of(self.outputs, self.demo_user(group)["username"])
            self._tokens[key] = user_token(self.outputs, login, kind)
        return self._tokens[key]


@contextmanager
def state_directory() -> Iterator[Path]:
    """A fresh state directory for a local cloud with its orders database, removed afterwards.

    Not under pytest's tmp_path: PostgreSQL runs as an unprivileged user that must traverse the parents,
    and every pytest start resets its base temp directory to owner-only (see localcloud.orders_db.postgres).
    """
    state_dir = Path(tempfile.mkdtemp(prefix="localcloud-state-"))
    try:
        yield state_dir
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def log_of(state_dir: Path) -> Path:
    """Where a local cloud started on `state_dir` writes its output: beside the directory, so it outlives it."""
    return state_dir.parent / f"{state_dir.name}.log"


def run_local_cloud(*extra_args: str, state_dir: Path | None = None) -> Iterator[RunningCloud]:
    """Start `python -m devcloud run` (as `make run` does) on free ports; yield once outputs.json exists; SIGTERM it.

    On a fresh state directory, removed afterwards; or on `state_dir`, kept (a restart of an earlier cloud's).
    """
    with state_directory() if state_dir is None else nullcontext(state_dir) as state_dir:
        command = [
            sys.executable, "-m", "devcloud", "--state-dir", str(state_dir),
            "run", "--port", "0", "--edge-port", "0", *extra_args,
        ]  # fmt: skip
        with log_of(state_dir).open("wb") as log:
            process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=_environment())
            try:
                wait_for_file(
                    state_dir / "outputs.json", process, log=log_of(state_dir), deadline=START_TIMEOUT_SECONDS
                )
                outputs = dict(json.loads((state_dir / "outputs.json").read_text()))
                yield RunningCloud(process, state_dir, outputs)
            finally:
                _stop_process(process)


def _stop_process(process: subprocess.Popen[Any]) -> None:
    """SIGTERM, as Ctrl-C or a service manager stops the local cloud; SIGKILL if it does not exit in a minute."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # The test process's fake credentials and tracing switches are not the local cloud's business.
    for name in ("AWS_ENDPOINT_URL", "POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_METRICS_NAMESPACE"):
        env.pop(name, None)
    return env
