"""Deterministic physical ids and attributes, for resources the local cloud does not create anywhere.

IAM roles, Lambda permissions, layers, the Lambda functions themselves, API Gateway resources and the
like need no emulation, but their `Ref`/`Fn::GetAtt` values still flow into environment variables,
ARNs and routes. They get names shaped like CloudFormation's (`<stack>-<LogicalId>`, bounded to the
service's limit) and ARNs shaped like the service's, the same on every start. The same shapes serve
an offline load of the template (nothing created at all).
"""

from __future__ import annotations

import hashlib
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Identity:
    """What a created resource answers to: its `Ref` value and its `Fn::GetAtt` attributes."""

    ref: Any
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scope:
    region: str
    account_id: str
    stack_name: str

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if region else ''}:{self.account_id if account else ''}:{resource}"


def token(seed: str, length: int, alphabet: str = string.ascii_lowercase + string.digits) -> str:
    """A random-looking but stable string (ids such as API ids and Cognito client ids)."""
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(length):
        digest, index = divmod(digest, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def physical_name(scope: Scope, logical_id: str, max_length: int, *, lowercase: bool = False) -> str:
    """`<stack>-<LogicalId>`, shortened with a stable suffix when the service allows fewer characters."""
    name = f"{scope.stack_name}-{logical_id}"
    if lowercase:
        name = name.lower()
    if len(name) > max_length:
        suffix = token(
            name, 8, string.ascii_lowercase + string.digits if lowercase else string.ascii_uppercase + string.digits
        )
        name = f"{name[: max_length - 9]}-{suffix}"
    return name


def stable_uuid(scope: Scope, logical_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"localcloud:{scope.stack_name}:{logical_id}"))


def _name(
    props: dict[str, Any], key: str, scope: Scope, logical_id: str, max_length: int, lowercase: bool = False
) -> str:
    value = props.get(key)
    return str(value) if value else physical_name(scope, logical_id, max_length, lowercase=lowercase)


# ---------------------------------------------------------------------- per resource type
def _lambda_function(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    name = _name(props, "FunctionName", scope, logical_id, 64)
    return Identity(name, {"Arn": scope.arn("lambda", f"function:{name}")})


def _lambda_layer(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    arn = scope.arn("lambda", f"layer:{_name(props, 'LayerName', scope, logical_id, 140)}:1")
    return Identity(arn, {"LayerVersionArn": arn})


def _function_arn(scope: Scope, props: dict[str, Any]) -> str:
    """The ARN of the function a version or alias names (FunctionName: a name or an ARN)."""
    function = str(props.get("FunctionName", ""))
    return function if function.startswith("arn:") else scope.arn("lambda", f"function:{function}")


def _lambda_version(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    base = _function_arn(scope, props)
    return Identity(f"{base}:1", {"Version": "1", "FunctionArn": base})


def _lambda_alias(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    arn = ":".join([*_function_arn(scope, props).split(":")[:7], str(props.get("Name", logical_id))])
    return Identity(arn, {"AliasArn": arn})


def _event_source_mapping(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    mapping_id = stable_uuid(scope, logical_id)
    return Identity(
        mapping_id,
        {"Id": mapping_id, "EventSourceMappingArn": scope.arn("lambda", f"event-source-mapping:{mapping_id}")},
    )


def _iam_role(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    name = _name(props, "RoleName", scope, logical_id, 64)
    path = str(props.get("Path", "/"))
    return Identity(
        name,
        {
            "Arn": scope.arn("iam", f"role{path}{name}", region=False),
            "RoleId": "AROA" + token(name, 17, string.ascii_uppercase + string.digits),
        },
    )


def _iam_managed_policy(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    arn = scope.arn("iam", f"policy/{_name(props, 'ManagedPolicyName', scope, logical_id, 128)}", region=False)
    return Identity(arn, {"PolicyArn": arn})


def _http_api(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    api_id = token(f"{scope.stack_name}:{logical_id}", 10)
    return Identity(
        api_id, {"ApiId": api_id, "ApiEndpoint": f"https://{api_id}.execute-api.{scope.region}.amazonaws.com"}
    )


def _rest_api(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    api_id = token(f"{scope.stack_name}:{logical_id}", 10)
    return Identity(api_id, {"RestApiId": api_id, "RootResourceId": token(f"{api_id}:root", 10)})


def _short_id(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    return Identity(token(f"{scope.stack_name}:{logical_id}", 7))


def _stage(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    return Identity(str(props.get("StageName", "$default")))


def _dynamodb_table(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    name = _name(props, "TableName", scope, logical_id, 255)
    arn = scope.arn("dynamodb", f"table/{name}")
    attributes: dict[str, Any] = {"Arn": arn}
    if props.get("StreamSpecification"):
        attributes["StreamArn"] = f"{arn}/stream/1970-01-01T00:00:00.000"
    return Identity(name, attributes)


def sqs_queue_name(scope: Scope, logical_id: str, props: dict[str, Any]) -> str:
    fifo = str(props.get("FifoQueue", "")).lower() == "true"
    name = _name(props, "QueueName", scope, logical_id, 75 if fifo else 80)
    return f"{name}.fifo" if fifo and not name.endswith(".fifo") else name


def _sqs_queue(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    name = sqs_queue_name(scope, logical_id, props)
    url = f"https://sqs.{scope.region}.amazonaws.com/{scope.account_id}/{name}"
    return Identity(url, {"Arn": scope.arn("sqs", name), "QueueName": name, "QueueUrl": url})


def _sns_topic(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    name = _name(props, "TopicName", scope, logical_id, 256)
    arn = scope.arn("sns", name)
    return Identity(arn, {"TopicArn": arn, "TopicName": name})


def _user_pool(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    return user_pool_identity(
        scope, f"{scope.region}_{token(f'{scope.stack_name}:{logical_id}', 9, string.ascii_letters + string.digits)}"
    )


def user_pool_identity(scope: Scope, pool_id: str) -> Identity:
    provider = f"cognito-idp.{scope.region}.amazonaws.com/{pool_id}"
    return Identity(
        pool_id,
        {
            "Arn": scope.arn("cognito-idp", f"userpool/{pool_id}"),
            "ProviderName": provider,
            "ProviderURL": f"https://{provider}",
            "UserPoolId": pool_id,
        },
    )


def _user_pool_client(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    client_id = token(f"{scope.stack_name}:{logical_id}", 26)
    return Identity(client_id, {"ClientId": client_id, "Name": str(props.get("ClientName", logical_id))})


def _user_pool_group(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    return Identity(str(props.get("GroupName") or logical_id))


def _secret(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    name = _name(props, "Name", scope, logical_id, 256)
    arn = scope.arn("secretsmanager", f"secret:{name}-{token(name, 6, string.ascii_letters)}")
    return Identity(arn, {"Id": arn})


def _s3_bucket(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    name = _name(props, "BucketName", scope, logical_id, 63, lowercase=True)
    return Identity(
        name,
        {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{scope.region}.amazonaws.com",
            "WebsiteURL": f"http://{name}.s3-website-{scope.region}.amazonaws.com",
        },
    )


def _log_group(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    name = _name(props, "LogGroupName", scope, logical_id, 512)
    return Identity(name, {"Arn": scope.arn("logs", f"log-group:{name}:*")})


def _state_machine(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    name = _name(props, "StateMachineName", scope, logical_id, 80)
    arn = scope.arn("states", f"stateMachine:{name}")
    return Identity(arn, {"Arn": arn, "Name": name, "StateMachineRevisionId": arn})


def _event_bus(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    name = str(props.get("Name") or logical_id)
    return Identity(name, {"Arn": scope.arn("events", f"event-bus/{name}"), "Name": name})


def event_bus_name(value: Any) -> str:
    """EventBusName may be a name or an ARN; the default bus when absent."""
    text = str(value or "default")
    return text.split("event-bus/", 1)[1] if text.startswith("arn:") and "event-bus/" in text else text


def _event_rule(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    name = _name(props, "Name", scope, logical_id, 64)
    bus = event_bus_name(props.get("EventBusName"))
    if bus == "default":
        return Identity(name, {"Arn": scope.arn("events", f"rule/{name}")})
    return Identity(f"{bus}|{name}", {"Arn": scope.arn("events", f"rule/{bus}/{name}")})


def _schedule(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    name = _name(props, "Name", scope, logical_id, 64)
    group = str(props.get("GroupName", "default"))
    return Identity(name, {"Arn": scope.arn("scheduler", f"schedule/{group}/{name}")})


def _alarm(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    name = _name(props, "AlarmName", scope, logical_id, 255)
    return Identity(name, {"Arn": scope.arn("cloudwatch", f"alarm:{name}")})


def _db_cluster(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    cluster_id = _name(props, "DBClusterIdentifier", scope, logical_id, 63, lowercase=True)
    host = f"{cluster_id}.cluster-{token(cluster_id, 12)}.{scope.region}.rds.amazonaws.com"
    port = str(props.get("Port", 5432 if "postgres" in str(props.get("Engine", "postgres")) else 3306))
    resource_id = "cluster-" + token(cluster_id, 26, string.ascii_uppercase + string.digits)
    attributes = {
        "DBClusterArn": scope.arn("rds", f"cluster:{cluster_id}"),
        "DBClusterResourceId": resource_id,
        "Endpoint.Address": host,
        "Endpoint.Port": port,
        "ReadEndpoint.Address": host.replace(".cluster-", ".cluster-ro-"),
    }
    if str(props.get("ManageMasterUserPassword", False)).lower() == "true":
        name = f"rds!{resource_id.lower()}"
        attributes["MasterUserSecret.SecretArn"] = scope.arn(
            "secretsmanager", f"secret:{name}-{token(name, 6, string.ascii_letters)}"
        )
    return Identity(cluster_id, attributes)


def _db_instance(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    instance_id = _name(props, "DBInstanceIdentifier", scope, logical_id, 63, lowercase=True)
    return Identity(
        instance_id,
        {
            "DBInstanceArn": scope.arn("rds", f"db:{instance_id}"),
            "Endpoint.Address": f"{instance_id}.{token(instance_id, 12)}.{scope.region}.rds.amazonaws.com",
            "Endpoint.Port": str(props.get("Port", 5432)),
        },
    )


def _ssm_parameter(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    name = _name(props, "Name", scope, logical_id, 1011)
    return Identity(name, {"Type": str(props.get("Type", "String")), "Value": props.get("Value")})


def _kms_key(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    key_id = stable_uuid(scope, logical_id)
    return Identity(key_id, {"Arn": scope.arn("kms", f"key/{key_id}"), "KeyId": key_id})


def _ec2_id(prefix: str, attribute: str) -> Callable[[Scope, str, dict[str, Any]], Identity]:
    def identity(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
        resource_id = f"{prefix}-{token(f'{scope.stack_name}:{logical_id}', 17, '0123456789abcdef')}"
        return Identity(resource_id, {attribute: resource_id})

    return identity


def _cloudfront_distribution(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    seed = f"{scope.stack_name}:{logical_id}"
    distribution_id = "E" + token(seed, 13, string.ascii_uppercase + string.digits)
    return Identity(distribution_id, {"Id": distribution_id, "DomainName": f"d{token(seed, 13)}.cloudfront.net"})


def _cloudfront_id(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    resource_id = "E" + token(f"{scope.stack_name}:{logical_id}", 13, string.ascii_uppercase + string.digits)
    return Identity(resource_id, {"Id": resource_id})


def _generic(scope: Scope, logical_id: str, props: dict[str, Any]) -> Identity:
    return Identity(physical_name(scope, logical_id, 128))


_IDENTITIES: dict[str, Callable[[Scope, str, dict[str, Any]], Identity]] = {
    "AWS::Lambda::Function": _lambda_function,
    "AWS::Lambda::LayerVersion": _lambda_layer,
    "AWS::Lambda::Version": _lambda_version,
    "AWS::Lambda::Alias": _lambda_alias,
    "AWS::Lambda::EventSourceMapping": _event_source_mapping,
    "AWS::IAM::Role": _iam_role,
    "AWS::IAM::ManagedPolicy": _iam_managed_policy,
    "AWS::ApiGatewayV2::Api": _http_api,
    "AWS::ApiGatewayV2::Stage": _stage,
    "AWS::ApiGatewayV2::Route": _short_id,
    "AWS::ApiGatewayV2::Integration": _short_id,
    "AWS::ApiGatewayV2::Authorizer": _short_id,
    "AWS::ApiGatewayV2::Deployment": _short_id,
    "AWS::ApiGateway::RestApi": _rest_api,
    "AWS::ApiGateway::Stage": _stage,
    "AWS::ApiGateway::Deployment": _short_id,
    "AWS::DynamoDB::Table": _dynamodb_table,
    "AWS::SQS::Queue": _sqs_queue,
    "AWS::SNS::Topic": _sns_topic,
    "AWS::Cognito::UserPool": _user_pool,
    "AWS::Cognito::UserPoolClient": _user_pool_client,
    "AWS::Cognito::UserPoolGroup": _user_pool_group,
    "AWS::SecretsManager::Secret": _secret,
    "AWS::S3::Bucket": _s3_bucket,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::StepFunctions::StateMachine": _state_machine,
    "AWS::Events::EventBus": _event_bus,
    "AWS::Events::Rule": _event_rule,
    "AWS::Scheduler::Schedule": _schedule,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::RDS::DBCluster": _db_cluster,
    "AWS::RDS::DBInstance": _db_instance,
    "AWS::SSM::Parameter": _ssm_parameter,
    "AWS::KMS::Key": _kms_key,
    "AWS::EC2::VPC": _ec2_id("vpc", "VpcId"),
    "AWS::EC2::Subnet": _ec2_id("subnet", "SubnetId"),
    "AWS::EC2::SecurityGroup": _ec2_id("sg", "GroupId"),
    "AWS::CloudFront::Distribution": _cloudfront_distribution,
    "AWS::CloudFront::OriginAccessControl": _cloudfront_id,
}


def deterministic_identity(scope: Scope, logical_id: str, resource_type: str, props: dict[str, Any]) -> Identity:
    """The identity a resource of `resource_type` gets when nothing is created for it."""
    return _IDENTITIES.get(resource_type, _generic)(scope, logical_id, props)
