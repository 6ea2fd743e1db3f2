"""S3 buckets, Secrets Manager secrets (generated ones too) and SSM parameters."""

from __future__ import annotations

import json
from typing import Any

from localcloud.provision.context import ProvisionContext, api_params, where_of
from localcloud.template import Identity
from localcloud.template.errors import LocalCloudTemplateError, location_of


def create_bucket(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("s3")
    name = str(props.get("BucketName") or ctx.name(logical_id, 63, lowercase=True))
    if ctx.stack.region == "us-east-1":
        client.create_bucket(Bucket=name)
    else:
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": ctx.stack.region})
    versioning = props.get("VersioningConfiguration")
    if versioning:
        client.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": versioning.get("Status", "Enabled")}
        )
    return ctx.identity(logical_id, "AWS::S3::Bucket", {**props, "BucketName": name})


def create_secret(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("secretsmanager")
    name = str(props.get("Name") or ctx.name(logical_id, 256))
    params: dict[str, Any] = {"Name": name}
    if props.get("Description"):
        params["Description"] = str(props["Description"])
    if props.get("KmsKeyId"):
        params["KmsKeyId"] = str(props["KmsKeyId"])
    if "SecretString" in props:
        params["SecretString"] = str(props["SecretString"])
    elif "GenerateSecretString" in props:
        params["SecretString"] = _generated_secret(
            client, props["GenerateSecretString"], where_of(logical_id, "GenerateSecretString")
        )
    arn = client.create_secret(**params)["ARN"]
    return Identity(arn, {"Id": arn})


def _generated_secret(client: Any, spec: dict[str, Any], where: tuple[str | int, ...]) -> str:
    """What CloudFormation stores for GenerateSecretString: a password, or a JSON template with it under a key."""
    options = api_params(client, "GetRandomPassword", spec, where=where)
    password = client.get_random_password(**options)["RandomPassword"]
    template = spec.get("SecretStringTemplate")
    if template is None:
        return str(password)
    key = spec.get("GenerateStringKey")
    try:
        document = json.loads(str(template))
    except ValueError:
        raise LocalCloudTemplateError(
            "SecretStringTemplate is not JSON", location=location_of(*where, "SecretStringTemplate")
        ) from None
    if not key or not isinstance(document, dict):
        raise LocalCloudTemplateError(
            "SecretStringTemplate needs a JSON object and GenerateStringKey", location=location_of(*where)
        )
    document[str(key)] = password
    return json.dumps(document)


def create_ssm_parameter(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("ssm")
    declared = {**props, "Name": props.get("Name") or ctx.name(logical_id, 1011)}
    params = api_params(client, "PutParameter", declared, where=where_of(logical_id))
    params.pop("Tags", None)  # CloudFormation gives a map; the API a list. Tags change nothing locally.
    client.put_parameter(**params)
    return ctx.identity(logical_id, "AWS::SSM::Parameter", declared)
