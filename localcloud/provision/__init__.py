"""Provisioning: every resource of the stack created in the local services, in dependency order.

`provision(stack, endpoint_url=...)` walks the stack (`localcloud.template.deploy`) and, per resource
type, creates it through boto3 against the edge (DynamoDB, SQS, SNS, Cognito, Secrets Manager, S3,
CloudWatch Logs and alarms, Step Functions, EventBridge, Scheduler, SSM, custom resources). Physical
ids the services assign (user pool id, client id, queue URL...) feed the `Ref`/`Fn::GetAtt` of the
resources after them. Types that need no emulation (IAM, Lambda functions/permissions/layers, API
Gateway, RDS, VPC...) get deterministic ids (`localcloud.template.identity`).

A service refusing a resource is reported as a `LocalCloudTemplateError` naming the resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from localcloud.model import LocalApp
from localcloud.provision import cognito, databases, dynamodb, events, messaging, observability, storage, workflows
from localcloud.provision.context import Invoke, ProvisionContext
from localcloud.provision.custom_resources import create_custom_resource
from localcloud.template import FunctionListener, Identity, LocalCloudTemplateError, ResourceListener, Stack, deploy
from localcloud.template.errors import location_of

Provisioner = Callable[[ProvisionContext, str, dict[str, Any]], Identity]

PROVISIONERS: dict[str, Provisioner] = {
    "AWS::DynamoDB::Table": dynamodb.create_table,
    "AWS::SQS::Queue": messaging.create_queue,
    "AWS::SNS::Topic": messaging.create_topic,
    "AWS::SNS::Subscription": messaging.create_subscription,
    "AWS::Cognito::UserPool": cognito.create_user_pool,
    "AWS::Cognito::UserPoolClient": cognito.create_user_pool_client,
    "AWS::Cognito::UserPoolGroup": cognito.create_group,
    "AWS::Cognito::UserPoolDomain": cognito.create_domain,
    "AWS::Cognito::UserPoolResourceServer": cognito.create_resource_server,
    "AWS::Cognito::UserPoolUser": cognito.create_user,
    "AWS::Cognito::UserPoolUserToGroupAttachment": cognito.add_user_to_group,
    "AWS::SecretsManager::Secret": storage.create_secret,
    "AWS::S3::Bucket": storage.create_bucket,
    "AWS::SSM::Parameter": storage.create_ssm_parameter,
    "AWS::Logs::LogGroup": observability.create_log_group,
    "AWS::CloudWatch::Alarm": observability.create_alarm,
    "AWS::StepFunctions::StateMachine": workflows.create_state_machine,
    "AWS::Events::EventBus": events.create_event_bus,
    "AWS::Events::Rule": events.create_rule,
    "AWS::Scheduler::Schedule": events.create_schedule,
    "AWS::Scheduler::ScheduleGroup": events.create_schedule_group,
    "AWS::RDS::DBCluster": databases.create_db_cluster,
}

# Resource types that exist only as names locally: nothing to create, a deterministic identity suffices.
PASSIVE_PREFIXES = (
    "AWS::IAM::",
    "AWS::Lambda::",
    "AWS::ApiGatewayV2::",
    "AWS::ApiGateway::",
    "AWS::RDS::",
    "AWS::EC2::",
    "AWS::KMS::",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::SecretsManager::",
    "AWS::Logs::",
    "AWS::CloudWatch::",
    "AWS::Events::",
    "AWS::CloudFormation::WaitConditionHandle",
    "AWS::CloudFront::",  # served by localcloud.static_sites once the stack is up
    "AWS::S3::BucketPolicy",
)


def provision(
    stack: Stack,
    *,
    endpoint_url: str,
    invoke: Invoke | None = None,
    register_interceptor: Callable[..., None] | None = None,
    on_function: FunctionListener | None = None,
    on_resource: ResourceListener | None = None,
) -> LocalApp:
    """Create the stack's resources through the edge at `endpoint_url`; returns the resolved app."""
    ctx = ProvisionContext(
        stack=stack, endpoint_url=endpoint_url, invoke=invoke, register_interceptor=register_interceptor
    )

    def create(logical_id: str, resource_type: str, props: dict[str, Any]) -> Identity:
        try:
            if resource_type in PROVISIONERS:
                return PROVISIONERS[resource_type](ctx, logical_id, props)
            if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
                return create_custom_resource(ctx, logical_id, props, resource_type)
            if resource_type.startswith(PASSIVE_PREFIXES):
                return ctx.identity(logical_id, resource_type, props)
        except ClientError as error:
            details = error.response.get("Error", {})
            raise LocalCloudTemplateError(
                f"the local {error.operation_name} refused it: {details.get('Code')}: {details.get('Message')}",
                location=location_of("Resources", logical_id),
            ) from None
        except BotoCoreError as error:
            raise LocalCloudTemplateError(
                f"could not be created: {error}", location=location_of("Resources", logical_id)
            ) from None
        raise LocalCloudTemplateError(
            f"resource type {resource_type} is not supported by the local cloud",
            location=location_of("Resources", logical_id, "Type"),
        )

    return deploy(stack, create, on_function=on_function, on_resource=on_resource)


__all__ = ["PROVISIONERS", "ProvisionContext", "provision"]
