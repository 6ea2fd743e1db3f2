"""Shared fixtures: AWS credentials that can never reach a real account, and moto-backed tables."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Set before anything imports boto3: no test may ever reach a real AWS account.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "CommerceTest",
        "POWERTOOLS_SERVICE_NAME": "commerce",
    }
)


@pytest.fixture
def commerce_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto DynamoDB table created from template.yaml's CommerceTable; TABLE_NAME points at it."""
    import boto3
    from moto import mock_aws

    from tests.support.template import create_table

    with mock_aws():
        name = "commerce-test"
        create_table(boto3.client("dynamodb"), "CommerceTable", name)
        monkeypatch.setenv("TABLE_NAME", name)
        yield name
