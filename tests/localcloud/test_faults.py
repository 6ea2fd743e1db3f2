"""Fault switches (`/_localcloud/faults`, `localcloud faults`): workers killed mid-invocation, reported as Lambda
reports a dead sandbox; AWS errors and latency reaching boto3 as the real errors; the payments sandbox's
switches; every fault counted."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.cloud import LocalCloud
from localcloud.faults.component import FaultsService
from localcloud.lambda_service.runtime import FunctionError
from localcloud.payments.component import PaymentsService
from tests.localcloud.conftest import ThrowawayProject

pytestmark = pytest.mark.localcloud

ROOT = Path(__file__).resolve().parents[2]
# Writes a file as its first effect, then works for a while: a kill lands between the two.
SLOW_WRITER = """
import os, time

def handler(event, context):
    with open(os.path.join(os.environ["OUT_DIR"], context.aws_request_id), "w") as out:
        out.write("started")
    time.sleep(1.0)
    return {"pid": os.getpid()}
"""
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture
def cloud(
    throwaway_project: ThrowawayProject, start_local_cloud: Callable[..., LocalCloud], tmp_path: Path
) -> LocalCloud:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    throwaway_project.function("Slow", SLOW_WRITER, environment={"OUT_DIR": str(out_dir)})
    throwaway_project.write()
    return start_local_cloud(throwaway_project.root, services=[FaultsService(), PaymentsService()])


def faults(cloud: LocalCloud, method: str = "GET", body: Any = None) -> requests.Response:
    return requests.request(method, f"{cloud.edge_url}/_localcloud/faults", json=body, timeout=30)


def aws_client(cloud: LocalCloud, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=cloud.edge_url,
        region_name=cloud.region,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=NO_RETRIES,
    )


def test_a_killed_worker_fails_its_invocation_as_lambda_does_and_the_next_invocation_works(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    # Given a kill switch on the function, always
    assert faults(cloud, "PUT", {"kills": [{"function": "Slow", "probability": 1}]}).status_code == 200

    # When it is invoked through Lambda's Invoke API
    answer = aws_client(cloud, "lambda").invoke(FunctionName=cloud.app.functions["Slow"].name, Payload=b"{}")

    # Then the handler had started (its first write is there) and the invocation failed as a dead sandbox does
    assert len(list((tmp_path / "out").iterdir())) == 1
    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "Runtime.ExitError"
    assert "Runtime exited without providing a reason" in error["errorMessage"]
    # And the kill is counted
    assert faults(cloud).json()["counts"]["kills"] == {"Slow": 1}

    # When the switch is cleared and the function invoked again / Then a fresh worker runs it to the end
    assert faults(cloud, "DELETE").json()["kills"] == []
    assert cloud.invoke("Slow", {})["pid"] in cloud.runtime.worker_pids("Slow")
    assert faults(cloud).json()["counts"]["kills"] == {"Slow": 1}


def test_a_kill_switch_with_probability_zero_never_kills(cloud: LocalCloud) -> None:
    # Given a kill switch that never fires / When invoked / Then the function runs
    faults(cloud, "PUT", {"kills": [{"function": cloud.app.functions["Slow"].name, "probability": 0}]})
    assert "pid" in cloud.invoke("Slow", {})
    assert faults(cloud).json()["counts"]["kills"] == {}


def test_a_killed_invocation_raises_function_error_in_process(cloud: LocalCloud) -> None:
    # Given a kill switch / When invoked in process / Then it is a FunctionError of Runtime.ExitError
    faults(cloud, "PUT", {"kills": [{"function": "Slow"}]})
    with pytest.raises(FunctionError) as failed:
        cloud.invoke("Slow", {})
    assert failed.value.error_type == "Runtime.ExitError"


@pytest.mark.parametrize(
    ("service", "operation", "error", "call", "status"),
    [
        ("dynamodb", "ListTables", "ProvisionedThroughputExceededException", lambda c: c.list_tables(), 400),
        ("dynamodb", None, "InternalServerError", lambda c: c.list_tables(), 500),
        ("states", "ListStateMachines", "ThrottlingException", lambda c: c.list_state_machines(), 400),
        (
            "rds-data",
            "ExecuteStatement",
            "DatabaseResumingException",
            lambda c: c.execute_statement(
                resourceArn="arn:aws:rds:us-east-1:123456789012:cluster:orders",
                secretArn="arn:aws:secretsmanager:us-east-1:123456789012:secret:orders",
                sql="SELECT 1",
            ),
            400,
        ),
    ],
)
def test_an_injected_aws_error_reaches_boto3_as_the_real_error(
    cloud: LocalCloud, service: str, operation: str | None, error: str, call: Any, status: int
) -> None:
    # Given an AWS fault on the operation, always
    fault = {"service": service, "operation": operation, "error": error, "probability": 1}
    assert faults(cloud, "PUT", {"aws": [fault]}).status_code == 200

    # When boto3 calls it (without retries) / Then it gets the service's own error
    with pytest.raises(ClientError) as raised:
        call(aws_client(cloud, {"states": "stepfunctions"}.get(service, service)))
    assert raised.value.response["Error"]["Code"] == error
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    # And it is counted
    assert faults(cloud).json()["counts"]["aws"] == {f"{service}:{operation or '*'}:{error}": 1}


def test_a_fault_on_one_operation_leaves_the_others_alone(cloud: LocalCloud) -> None:
    # Given a fault on PutItem only / When another operation is called / Then it is not touched
    faults(cloud, "PUT", {"aws": [{"service": "dynamodb", "operation": "PutItem", "error": "InternalServerError"}]})
    aws_client(cloud, "dynamodb").list_tables()
    assert faults(cloud).json()["counts"]["aws"] == {}


def test_latency_only_delays_the_request_and_lets_it_through(cloud: LocalCloud) -> None:
    # Given a latency-only fault on Step Functions / When called / Then the call succeeds and the fault is counted
    faults(cloud, "PUT", {"aws": [{"service": "states", "latencyMs": 50}]})
    answer = aws_client(cloud, "stepfunctions").list_state_machines()
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert isinstance(answer["stateMachines"], list)  # moto is shared by the process: other tests' machines too
    assert faults(cloud).json()["counts"]["aws"] == {"states:*:latency": 1}


@pytest.mark.parametrize(
    "body",
    [
        {"kills": [{"function": "NoSuchFunction"}]},
        {"kills": [{"function": "Slow", "probability": 1.5}]},
        {"aws": [{"service": "dynamodb", "error": "ThrottlingException"}]},
        {"aws": [{"service": "s3", "error": "SlowDown"}]},
        {"aws": [{"service": "states"}]},
        {"kills": [{"function": "Slow"}], "payments": {"webhooks": {"lost": 2}}},
        {"unknown": []},
        [],
    ],
)
def test_invalid_switches_are_refused_and_change_nothing(cloud: LocalCloud, body: Any) -> None:
    # Given a kill switch in force
    faults(cloud, "PUT", {"kills": [{"function": "Slow", "probability": 0.5}]})

    # When invalid switches are put / Then 400, and what was in force still is
    answer = faults(cloud, "PUT", body)
    assert answer.status_code == 400
    assert answer.json()["message"]
    state = faults(cloud).json()
    assert state["kills"] == [{"function": "Slow", "probability": 0.5}]
    assert state["payments"]["webhooks"]["lost"] == 0.0


def test_the_payments_sandbox_switches_are_set_and_counted_through_the_same_endpoint(cloud: LocalCloud) -> None:
    # Given the sandbox's provider error and lost webhooks set through the faults endpoint
    payments = {"faults": [{"kind": "error", "status": 503, "count": 1}], "webhooks": {"lost": 1, "duplicates": 1}}
    state = faults(cloud, "PUT", {"payments": payments}).json()
    assert state["payments"]["webhooks"] == {"paused": False, "duplicates": 1, "out_of_order": False, "lost": 1.0}
    assert [f["status"] for f in state["payments"]["faults"]] == [503]

    # When the provider is called / Then it answers the injected error, counted
    sandbox = cloud.component(PaymentsService)
    answer = requests.get(
        f"{sandbox.url}/v1/payment_intents", headers={"Authorization": "Bearer sk_test_localcloud"}, timeout=10
    )
    assert answer.status_code == 503
    assert faults(cloud).json()["counts"]["payments"]["provider"] == {"error": 1}

    # And a put without payments leaves them; DELETE resets them
    assert faults(cloud, "PUT", {"kills": []}).json()["payments"]["webhooks"]["lost"] == 1.0
    assert faults(cloud, "DELETE").json()["payments"]["webhooks"]["lost"] == 0.0


def test_the_cli_sets_shows_and_clears_the_switches(cloud: LocalCloud) -> None:
    # Given the running cloud's state directory (outputs.json)
    (cloud.state_dir / "outputs.json").write_text(json.dumps(cloud.outputs))

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "localcloud", "--state-dir", str(cloud.state_dir), "faults", *args]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)

    # When a kill and an AWS fault are added, then shown
    assert cli("kill", "Slow", "0.25").returncode == 0
    added = cli("aws", "dynamodb", "--error", "ProvisionedThroughputExceededException", "--probability", "0.1")
    assert added.returncode == 0, added.stderr
    shown = json.loads(cli("show").stdout)

    # Then both are in force
    assert shown["kills"] == [{"function": "Slow", "probability": 0.25}]
    assert shown["aws"] == [
        {
            "service": "dynamodb",
            "operation": None,
            "error": "ProvisionedThroughputExceededException",
            "probability": 0.1,
            "latencyMs": 0,
        }
    ]
    # And an invalid one is refused with exit 2 and a message; clear clears
    refused = cli("kill", "NoSuchFunction")
    assert (refused.returncode, "NoSuchFunction" in refused.stderr) == (2, True)
    assert json.loads(cli("clear").stdout)["kills"] == []
