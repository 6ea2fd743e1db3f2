"""template.yaml as tests see it: tables are created from the template's own properties, never a copy."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from localcloud.template.cfn_yaml import load_template_file

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


@cache
def load_template() -> dict[str, Any]:
    return load_template_file(TEMPLATE)


def resource(logical_id: str) -> dict[str, Any]:
    return load_template()["Resources"][logical_id]


def create_table(dynamodb_client: Any, logical_id: str, table_name: str) -> None:
    """Create a DynamoDB table exactly as template.yaml declares `logical_id` (keys, indexes, TTL, stream)."""
    props = resource(logical_id)["Properties"]
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in props:
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if "StreamSpecification" in props:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    dynamodb_client.create_table(**kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        dynamodb_client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)
