"""Lambda's Invoke API on the edge, called with boto3 exactly as handlers, Step Functions and the CLI call it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.cloud import LocalCloud
from tests.localcloud.conftest import ThrowawayProject, unique_stack_name
from tests.support.waiting import wait_until

pytestmark = pytest.mark.localcloud

ECHO = """
def handler(event, context):
    return {"got": event, "request_id": context.aws_request_id}
"""

FAIL = """
def handler(event, context):
    raise KeyError("missing")
"""

RECORD = """
import json

def handler(event, context):
    with open(event["path"], "w") as out:
        json.dump(event, out)
"""

HOLD = """
import os, time

def handler(event, context):
    open(event["started"], "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(event["release"]) and time.monotonic() < deadline:
        time.sleep(0.01)
    return "released"
"""


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    root = tmp_path_factory.mktemp("invoke-api-project")
    project = ThrowawayProject(root)
    project.function("Echo", ECHO)
    project.function("Fail", FAIL)
    project.function("Record", RECORD)
    project.function("Hold", HOLD, timeout=60, reserved_concurrency=1)
    project.write()
    with LocalCloud(
        root, state_dir=root / ".localcloud", stack_name=unique_stack_name(), services=[], consumers=[]
    ) as local:
        yield local


@pytest.fixture(scope="module")
def lambda_client(cloud: LocalCloud) -> Any:
    # No client-side retries: a throttle must surface as the service answered it.
    session = boto3.session.Session(region_name=cloud.region, aws_access_key_id="t", aws_secret_access_key="t")
    return session.client(
        "lambda", endpoint_url=cloud.edge_url, config=Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )


def test_request_response_returns_the_payload_and_the_executed_version(cloud: LocalCloud, lambda_client: Any) -> None:
    # Given the Echo function
    # When it is invoked by name
    response = lambda_client.invoke(FunctionName=cloud.app.functions["Echo"].name, Payload=json.dumps({"a": 1}))

    # Then Lambda's 200 comes back with the result and $LATEST, and no function error
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read())["got"] == {"a": 1}


def test_a_function_is_found_by_arn_and_by_partial_arn(cloud: LocalCloud, lambda_client: Any) -> None:
    # Given the Echo function's ARN
    arn = cloud.app.functions["Echo"].arn

    # When it is invoked by full ARN, by ARN with $LATEST and by partial ARN
    names = [arn, f"{arn}:$LATEST", arn.split(":", 4)[-1]]
    results = [json.loads(lambda_client.invoke(FunctionName=n, Payload=b"{}")["Payload"].read()) for n in names]

    # Then every form reaches it
    assert [r["got"] for r in results] == [{}, {}, {}]


def test_a_raised_error_sets_the_function_error_header_and_lambdas_error_payload(
    cloud: LocalCloud, lambda_client: Any
) -> None:
    # Given a function that raises KeyError
    # When it is invoked
    response = lambda_client.invoke(FunctionName=cloud.app.functions["Fail"].name, Payload=b"{}")

    # Then the call itself succeeds (200), flagged Unhandled, with errorMessage, errorType and stackTrace
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "KeyError"
    assert error["errorMessage"] == "'missing'"
    assert isinstance(error["stackTrace"], list)
    assert error["stackTrace"]


def test_an_unknown_function_is_resource_not_found(lambda_client: Any) -> None:
    # Given no function of that name, When it is invoked, Then Lambda's 404 ResourceNotFoundException
    with pytest.raises(ClientError) as raised:
        lambda_client.invoke(FunctionName="no-such-function", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_qualifier_other_than_latest_is_resource_not_found(cloud: LocalCloud, lambda_client: Any) -> None:
    # Given functions exist only as $LATEST locally, When a version is asked for, Then it is not found
    with pytest.raises(ClientError) as raised:
        lambda_client.invoke(FunctionName=cloud.app.functions["Echo"].name, Qualifier="7", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_dry_run_checks_the_function_without_running_it(cloud: LocalCloud, lambda_client: Any, tmp_path: Path) -> None:
    # Given the Record function, which would write a file
    path = tmp_path / "dry.json"

    # When it is invoked as a DryRun
    response = lambda_client.invoke(
        FunctionName=cloud.app.functions["Record"].name,
        InvocationType="DryRun",
        Payload=json.dumps({"path": str(path)}),
    )

    # Then Lambda's 204 comes back and nothing ran
    assert response["StatusCode"] == 204
    assert not path.exists()


def test_an_event_invocation_answers_202_and_runs_the_function(
    cloud: LocalCloud, lambda_client: Any, tmp_path: Path
) -> None:
    # Given the Record function
    path = tmp_path / "event.json"

    # When it is invoked asynchronously
    response = lambda_client.invoke(
        FunctionName=cloud.app.functions["Record"].name,
        InvocationType="Event",
        Payload=json.dumps({"path": str(path), "n": 7}),
    )

    # Then 202 comes back, and the function runs with the event
    assert response["StatusCode"] == 202
    wait_until(path.exists, "the function to record the event")
    assert json.loads(path.read_text())["n"] == 7


def test_a_payload_that_is_not_json_is_invalid_request_content(cloud: LocalCloud, lambda_client: Any) -> None:
    # Given a payload that is not JSON, When it is sent, Then Lambda's 400 InvalidRequestContentException
    with pytest.raises(ClientError) as raised:
        lambda_client.invoke(FunctionName=cloud.app.functions["Echo"].name, Payload=b"{not json")
    assert raised.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_exhausted_reserved_concurrency_is_429_too_many_requests(
    cloud: LocalCloud, lambda_client: Any, tmp_path: Path
) -> None:
    # Given a function with ReservedConcurrentExecutions 1 held busy by one invocation
    event = {"started": str(tmp_path / "started"), "release": str(tmp_path / "release")}
    name = cloud.app.functions["Hold"].name
    first = cloud.runtime.invoke_async(name, json.dumps(event).encode())
    wait_until((tmp_path / "started").exists, "the first invocation to start")
    assert first

    # When another synchronous invocation arrives
    with pytest.raises(ClientError) as raised:
        lambda_client.invoke(FunctionName=name, Payload=json.dumps(event))

    # Then Lambda's throttle comes back with the reason
    error: dict[str, Any] = dict(raised.value.response)
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    (tmp_path / "release").touch()
