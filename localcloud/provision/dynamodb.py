"""DynamoDB tables exactly as declared: keys, indexes, billing, streams, TTL, point-in-time recovery."""

from __future__ import annotations

from typing import Any

from localcloud.provision.context import ProvisionContext, api_params, where_of
from localcloud.template import Identity


def create_table(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("dynamodb")
    name = str(props.get("TableName") or ctx.name(logical_id, 255))
    declared = dict(props)
    declared["TableName"] = name
    # CloudFormation's default billing mode is PROVISIONED, as the API's.
    if "SSESpecification" in props:
        sse = props["SSESpecification"]
        declared["SSESpecification"] = {
            "Enabled": sse.get("SSEEnabled", False),
            **({"SSEType": sse["SSEType"]} if "SSEType" in sse else {}),
            **({"KMSMasterKeyId": sse["KMSMasterKeyId"]} if "KMSMasterKeyId" in sse else {}),
        }
    if "StreamSpecification" in props:
        declared["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    client.create_table(**api_params(client, "CreateTable", declared, where=where_of(logical_id)))

    ttl = props.get("TimeToLiveSpecification")
    if ttl and str(ttl.get("Enabled", False)).lower() == "true":
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    recovery = props.get("PointInTimeRecoverySpecification") or {}
    if str(recovery.get("PointInTimeRecoveryEnabled", False)).lower() == "true":
        client.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )

    table = client.describe_table(TableName=name)["Table"]
    attributes: dict[str, Any] = {"Arn": table["TableArn"]}
    if table.get("LatestStreamArn"):
        attributes["StreamArn"] = table["LatestStreamArn"]
    return Identity(name, attributes)
