"""Shared fixtures: AWS credentials that can never reach a real account, moto-backed tables, the local cloud."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.local_cloud import RunningCloud, run_local_cloud

# Set before any client is created: no test may ever reach a real AWS account.
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


@pytest.fixture(autouse=True)
def cursor_key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    """In-process list handlers sign cursors with this key (deployed ones read CursorSecret); the local cloud,
    a process of its own, uses the secret it provisioned from template.yaml."""
    from commerce.api import pagination

    key = b"test-cursor-key"
    monkeypatch.setattr(pagination, "keyring", pagination.CursorKeyring(lambda: pagination.CursorKeys(key)))
    return key


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


@pytest.fixture(scope="session")
def local_cloud() -> Iterator[RunningCloud]:
    """`make run` in miniature: the whole backend started by `python -m devcloud run` in its own process,
    on free ports, once per test session (per xdist worker); tests call it over HTTP, as a storefront does.

    A separate process keeps its moto state away from the `mock_aws` tests of the same worker. Its state
    directory is not under pytest's tmp_path: PostgreSQL runs as an unprivileged user that must traverse
    the parents, and every pytest start resets its base temp directory to owner-only.
    """
    yield from run_local_cloud()
