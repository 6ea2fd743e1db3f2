"""A local cloud in its own process, as `make run` starts it, for end-to-end tests and benchmarks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

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
        """A Cognito token obtained as a client does: InitiateAuth USER_PASSWORD_AUTH against the edge."""
        key = f"{group}:{kind}"
        if key not in self._tokens:
            user = self.demo_user(group)
            result = self.client("cognito-idp").initiate_auth(
                ClientId=self.outputs["UserPoolClientId"],
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": user["username"], "PASSWORD": user["password"]},
            )
            self._tokens[key] = result["AuthenticationResult"][kind]
        return self._tokens[key]


def run_local_cloud(*extra_args: str) -> Iterator[RunningCloud]:
    """Start `python -m localcloud run` on free ports; yield once outputs.json exists; stop it with SIGTERM."""
    state_dir = Path(tempfile.mkdtemp(prefix="localcloud-state-"))
    command = [
        sys.executable, "-m", "localcloud", "--state-dir", str(state_dir),
        "run", "--port", "0", "--edge-port", "0", *extra_args,
    ]  # fmt: skip
    log = (state_dir.parent / f"{state_dir.name}.log").open("wb")
    process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=_environment())
    try:
        outputs = _wait_for_outputs(process, state_dir / "outputs.json", Path(log.name))
        yield RunningCloud(process, state_dir, outputs)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(state_dir, ignore_errors=True)


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    # The test process's fake credentials and tracing switches are not the local cloud's business.
    for name in ("AWS_ENDPOINT_URL", "POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_METRICS_NAMESPACE"):
        env.pop(name, None)
    return env


def _wait_for_outputs(process: subprocess.Popen[bytes], outputs: Path, log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not outputs.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the local cloud did not start:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.1)
    return dict(json.loads(outputs.read_text()))
