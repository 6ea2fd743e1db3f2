"""How the local cloud itself talks to AWS APIs: boto3 clients for the edge, and reading ARNs.

Every client the local cloud makes for its own use (provisioning, event sources, async invocation
destinations, the CLI, `LocalCloud.client`) comes from `edge_client`: signed with placeholder
credentials the edge accepts, so nothing here can ever reach a real account, whatever the
developer's own AWS configuration says.
"""

from __future__ import annotations

import hashlib
from typing import Any

import boto3
from botocore.config import Config

LOCAL_ACCESS_KEY = "localcloud"  # also the secret key: the edge accepts any signature


def function_access_key(function_arn: str) -> str:
    """The access key a function's code signs with (like the role session's key Lambda hands a function).

    The edge accepts any signature, so the key only says who calls: `localcloud.iam` maps it to the
    function's role and its policies. Derived from the ARN, so the runtime and the IAM room agree on it.
    """
    return "ASIA" + hashlib.sha256(function_arn.encode()).hexdigest()[:16].upper()


def edge_session(region: str) -> boto3.session.Session:
    """A session for the edge. Sessions are not thread-safe to create clients from; the clients are."""
    return boto3.session.Session(
        region_name=region, aws_access_key_id=LOCAL_ACCESS_KEY, aws_secret_access_key=LOCAL_ACCESS_KEY
    )


def edge_client(service: str, *, endpoint_url: str, region: str, config: Config | None = None) -> Any:
    """A boto3 client for `service` at the edge (`endpoint_url`), as a handler would make one."""
    return edge_session(region).client(service, endpoint_url=endpoint_url, config=config)  # type: ignore[call-overload]


def arn_service(arn: str) -> str:
    """The service of an ARN ("sqs", "lambda", "states", ...), or "" for what is not an ARN."""
    parts = arn.split(":")
    return parts[2] if len(parts) > 5 and parts[0] == "arn" else ""


def queue_url_from_arn(sqs: Any, queue_arn: str) -> str:
    """The URL of the queue `queue_arn` names (GetQueueUrl with the ARN's account)."""
    _, _, _, _, account, name = queue_arn.split(":", 5)
    return str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])
