"""The ConsoleSite custom resource (functions/deploy_console) against moto's S3: it puts console/ and config.json
into the bucket with their content types, removes files a new version dropped, empties the bucket on Delete, and
always answers CloudFormation."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from commerce.adapters.static_site import site_files
from tests.support.handlers import load_handler
from tests.support.lambda_events import FakeLambdaContext
from tests.support.template import ROOT

pytestmark = pytest.mark.integration

BUCKET = "console-site-test"
PROPERTIES = {
    "ApiUrl": "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
    "CognitoEndpoint": "https://cognito-idp.us-east-1.amazonaws.com",
    "ClientId": "5r8t1q2w3e4r5t6y7u8i9o0p1a",
    "Region": "us-east-1",
}


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        monkeypatch.setenv("CONSOLE_BUCKET", BUCKET)
        yield s3


class DeployContext(FakeLambdaContext):
    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 120_000  # the function's Timeout in template.yaml


def deploy(request_type: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the function as CloudFormation would; the answer it PUTs to the ResponseURL."""
    answers: list[dict[str, Any]] = []
    handler_module: Any = sys.modules[load_handler("deploy_console").__module__]
    event = {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/answer",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/commerce/1",
        "RequestId": "r-1",
        "LogicalResourceId": "ConsoleSite",
        "PhysicalResourceId": "console-site",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:...", **(properties or PROPERTIES)},
    }
    original = handler_module.answer_custom_resource

    def answer(*args: Any, **kwargs: Any) -> str:
        return original(*args, **kwargs, put=lambda _url, body: answers.append(json.loads(body)))

    handler_module.answer_custom_resource = answer
    try:
        handler_module.lambda_handler(event, DeployContext())
    finally:
        handler_module.answer_custom_resource = original
    (sent,) = answers
    return sent


def keys(s3: Any) -> set[str]:
    return {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_create_puts_the_console_and_its_config(bucket: Any) -> None:
    # When the stack creates ConsoleSite
    sent = deploy("Create")
    # Then every console file and config.json are in the bucket, typed for a browser
    assert sent["Status"] == "SUCCESS", sent
    expected = set(site_files(ROOT / "console")) | {"config.json"}
    assert keys(bucket) == expected
    assert bucket.get_object(Bucket=BUCKET, Key="js/main.js")["ContentType"].startswith("text/javascript")
    assert bucket.get_object(Bucket=BUCKET, Key="index.html")["ContentType"].startswith("text/html")
    config = json.loads(bucket.get_object(Bucket=BUCKET, Key="config.json")["Body"].read())
    assert config == {
        "apiUrl": PROPERTIES["ApiUrl"],
        "cognitoEndpoint": PROPERTIES["CognitoEndpoint"],
        "clientId": PROPERTIES["ClientId"],
        "region": "us-east-1",
    }


def test_update_removes_files_the_new_version_dropped(bucket: Any) -> None:
    bucket.put_object(Bucket=BUCKET, Key="js/old.js", Body=b"//")
    assert deploy("Update")["Status"] == "SUCCESS"
    assert "js/old.js" not in keys(bucket)


def test_delete_empties_the_bucket(bucket: Any) -> None:
    deploy("Create")
    assert deploy("Delete")["Status"] == "SUCCESS"
    assert keys(bucket) == set()


def test_missing_properties_fail_the_deploy_and_put_nothing(bucket: Any) -> None:
    sent = deploy("Create", {"ApiUrl": PROPERTIES["ApiUrl"]})
    assert sent["Status"] == "FAILED"
    assert "CognitoEndpoint" in sent["Reason"]
    assert keys(bucket) == set()
