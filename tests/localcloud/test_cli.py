"""`python -m localcloud`: `invoke` (a Docker-free sam local invoke) and `run` (start, outputs.json, clean stop)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psutil
import pytest
import requests

from localcloud.tokens import Login, user_token
from tests.localcloud.conftest import ROOT, ThrowawayProject
from tests.support.local_cloud import log_of, state_directory
from tests.support.template import resource
from tests.support.waiting import wait_for_file

pytestmark = [pytest.mark.localcloud, pytest.mark.slow]

HEALTH_EVENT = ROOT / "events" / "health.json"


def _cli(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localcloud", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def state() -> Iterator[Path]:
    """The --state-dir of a CLI run that starts the orders database (so not under tmp_path)."""
    with state_directory() as state_dir:
        yield state_dir


def _health_project(project: ThrowawayProject) -> ThrowawayProject:
    """A template with the real HealthFunction (its code and the common layer, by absolute path)."""
    project.resources["CommonLayer"] = {
        "Type": "AWS::Serverless::LayerVersion",
        "Properties": {"ContentUri": str(ROOT / "layers" / "common"), "CompatibleRuntimes": ["python3.13"]},
    }
    project.resources["HealthFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": str(ROOT / "functions" / "health"),
            "Handler": "app.lambda_handler",
            "Runtime": "python3.13",
            "Timeout": 10,
            "Layers": [{"Ref": "CommonLayer"}],
            "Environment": {"Variables": {"POWERTOOLS_SERVICE_NAME": "commerce"}},
        },
    }
    return project


def test_invoke_runs_the_health_function_on_its_sample_event(throwaway_project: ThrowawayProject, state: Path) -> None:
    # Given a template with the health function and no local cloud running
    _health_project(throwaway_project).write()

    # When `invoke HealthFunction --event events/health.json` runs
    done = _cli(
        "--project-dir", str(throwaway_project.root), "--state-dir", str(state),
        "invoke", "HealthFunction", "--event", str(HEALTH_EVENT),
    )  # fmt: skip

    # Then it prints the function's API Gateway response and exits 0
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"status": "ok"}


def test_invoke_exits_non_zero_and_prints_the_error_when_the_function_fails(
    throwaway_project: ThrowawayProject, state: Path
) -> None:
    # Given a function that raises
    throwaway_project.function("Boom", "def handler(event, context):\n    raise RuntimeError('no')\n")
    throwaway_project.write()

    # When it is invoked from the command line
    done = _cli("--project-dir", str(throwaway_project.root), "--state-dir", str(state), "invoke", "Boom")

    # Then the exit code is 1 and stdout has Lambda's error document
    assert done.returncode == 1
    error = json.loads(done.stdout)
    assert (error["errorType"], error["errorMessage"]) == ("RuntimeError", "no")


def test_invoke_of_an_unknown_function_names_the_template_functions(
    throwaway_project: ThrowawayProject, state: Path
) -> None:
    # Given a template with one function
    throwaway_project.function("Only", "def handler(event, context):\n    return 1\n")
    throwaway_project.write()

    # When another name is invoked
    done = _cli("--project-dir", str(throwaway_project.root), "--state-dir", str(state), "invoke", "Other")

    # Then the exit code is 2 and the message lists the functions there are
    assert done.returncode == 2
    assert "Only" in done.stderr


def test_a_template_that_cannot_run_is_a_clear_message_not_a_traceback(
    throwaway_project: ThrowawayProject, state: Path
) -> None:
    # Given a template whose function refers to a parameter that does not exist
    throwaway_project.function(
        "Fn", "def handler(event, context):\n    return 1\n", environment={"X": {"Ref": "NoSuchParameter"}}
    )
    throwaway_project.write()

    # When the CLI loads it
    done = _cli("--project-dir", str(throwaway_project.root), "--state-dir", str(state), "invoke", "Fn")

    # Then it exits 2 with one line naming the resource and property
    assert done.returncode == 2
    assert "Resources.Fn.Properties.Environment.Variables.X" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_template_that_is_not_yaml_is_a_clear_message_not_a_traceback(
    throwaway_project: ThrowawayProject, state: Path
) -> None:
    # Given a template.yaml that does not parse
    (throwaway_project.root / "template.yaml").write_text("Resources: [unclosed\n")

    # When the CLI starts on it (its services read the template before the stack is loaded)
    done = _cli("--project-dir", str(throwaway_project.root), "--state-dir", str(state), "invoke", "Fn")

    # Then it exits 2 with a message about the template, not a traceback
    assert done.returncode == 2
    assert "template.yaml is not a readable template" in done.stderr
    assert "Traceback" not in done.stderr


def _run_project(project: ThrowawayProject) -> ThrowawayProject:
    """The real template's identity and table resources, the health function, and the outputs make run writes."""
    _health_project(project)
    pools = ("UserPool", "UserPoolClient", "OperatorUserPool", "OperatorUserPoolClient", "AdminGroup")
    for logical_id in (*pools, "CommerceTable"):
        project.resources[logical_id] = resource(logical_id)
    project.parameters["PaymentsApiUrl"] = {"Type": "String", "Default": "https://payments.invalid"}
    project.outputs = {
        "UserPoolId": {"Value": {"Ref": "UserPool"}},
        "UserPoolClientId": {"Value": {"Ref": "UserPoolClient"}},
        "OperatorUserPoolId": {"Value": {"Ref": "OperatorUserPool"}},
        "OperatorUserPoolClientId": {"Value": {"Ref": "OperatorUserPoolClient"}},
        "CommerceTableName": {"Value": {"Ref": "CommerceTable"}},
        "PaymentsApiUrl": {"Value": {"Ref": "PaymentsApiUrl"}},
    }
    project.write()
    return project


def test_run_writes_outputs_seeds_demo_data_and_stops_cleanly_on_sigterm(
    throwaway_project: ThrowawayProject, state: Path
) -> None:
    # Given a project and `devcloud run` (the local cloud with this app's glue, as `make run`) on free ports,
    # its output in a file (a pipe nobody reads could fill up)
    project = _run_project(throwaway_project)
    log = log_of(state).open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "devcloud", "--project-dir", str(project.root), "--state-dir", str(state),
         "run", "--port", "0", "--edge-port", "0"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        # When it is up
        wait_for_file(state / "outputs.json", process, log=log_of(state), deadline=120)
        outputs: dict[str, Any] = json.loads((state / "outputs.json").read_text())
        children = psutil.Process(process.pid).children(recursive=True)

        # Then outputs.json has the stack's outputs as served locally, with demo users
        assert {"ApiUrl", "AwsEndpointUrl", "UserPoolId", "UserPoolClientId", "PaymentsApiUrl", "Region"} <= set(
            outputs
        )
        # The payments sandbox stands in for the provider the template names
        assert outputs["PaymentsApiUrl"].startswith("http://127.0.0.1:")
        assert requests.get(f"{outputs['PaymentsApiUrl']}/_sandbox/health", timeout=5).status_code == 200
        users = {u["username"]: u for u in outputs["DemoUsers"]}
        assert any("admin" in u["groups"] for u in users.values())
        assert any(not u["groups"] for u in users.values())
        assert requests.get(f"{outputs['ApiUrl']}/health", timeout=10).status_code in (200, 404)

        # And the demo operator signs in as a client does (with a TOTP code), and the demo catalog is in the table
        session = boto3.session.Session(region_name=outputs["Region"], aws_access_key_id="t", aws_secret_access_key="t")
        operator = next(u for u in users.values() if "admin" in u["groups"])
        assert operator["clientId"] == outputs["OperatorUserPoolClientId"]
        assert operator["totpSecret"]
        assert user_token(outputs, Login.of(outputs, operator["username"])).count(".") == 2
        dynamodb = session.client("dynamodb", endpoint_url=outputs["AwsEndpointUrl"])
        products = dynamodb.query(
            TableName=outputs["CommerceTableName"],
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :catalog",
            ExpressionAttributeValues={":catalog": {"S": "CATALOG"}},
        )["Items"]
        assert products

        # When it gets SIGTERM
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()

    # Then it exits 0, removes outputs.json, and leaves none of its processes behind
    assert process.returncode == 0
    assert not (state / "outputs.json").exists()
    assert children
    for child in children:
        deadline = time.monotonic() + 30
        while child.is_running() and child.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE


def test_a_second_local_cloud_on_the_same_state_directory_is_refused(
    throwaway_project: ThrowawayProject, tmp_path: Path
) -> None:
    # Given a state directory whose pid file names a live process (this test's)
    state = tmp_path / "state"
    state.mkdir()
    (state / ".localcloud-state").touch()
    (state / "localcloud.pid").write_text(f"{os.getpid()}\n")
    throwaway_project.function("Fn", "def handler(event, context):\n    return 1\n")
    throwaway_project.write()

    # When `run` starts on it
    done = _cli("--project-dir", str(throwaway_project.root), "--state-dir", str(state), "run", "--port", "0")

    # Then it refuses, naming the running one
    assert done.returncode == 2
    assert "another local cloud" in done.stderr


def test_reset_refuses_a_directory_that_is_not_a_local_cloud_state_directory(
    throwaway_project: ThrowawayProject, tmp_path: Path
) -> None:
    # Given a directory with someone else's files
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    throwaway_project.function("Fn", "def handler(event, context):\n    return 1\n")
    throwaway_project.write()

    # When `run --reset` is pointed at it
    done = _cli(
        "--project-dir", str(throwaway_project.root), "--state-dir", str(precious), "run", "--reset", "--port", "0"
    )

    # Then it refuses and the files are untouched
    assert done.returncode == 2
    assert (precious / "notes.txt").read_text() == "keep me"
