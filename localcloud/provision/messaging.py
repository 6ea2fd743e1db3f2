"""SQS queues (with redrive policies) and SNS topics and subscriptions."""

from __future__ import annotations

from typing import Any

from localcloud.provision.context import ProvisionContext, api_params, text_attributes, where_of
from localcloud.template import Identity
from localcloud.template.errors import LocalCloudTemplateError, location_of
from localcloud.template.identity import sqs_queue_name

_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "RedrivePolicy",
    "RedriveAllowPolicy",
)
_TOPIC_ATTRIBUTES = (
    "DisplayName",
    "FifoTopic",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "SignatureVersion",
    "TracingConfig",
)


def create_queue(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("sqs")
    name = sqs_queue_name(ctx.scope, logical_id, props)
    url = client.create_queue(QueueName=name, Attributes=text_attributes(props, _QUEUE_ATTRIBUTES))["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Identity(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})


def create_topic(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("sns")
    name = str(props.get("TopicName") or ctx.name(logical_id, 256))
    if str(props.get("FifoTopic", "")).lower() == "true" and not name.endswith(".fifo"):
        name = f"{name}.fifo"
    arn = client.create_topic(Name=name, Attributes=text_attributes(props, _TOPIC_ATTRIBUTES))["TopicArn"]
    for index, subscription in enumerate(props.get("Subscription") or []):
        _subscribe(client, arn, subscription, where_of(logical_id, "Subscription", index))
    return Identity(arn, {"TopicArn": arn, "TopicName": name})


def create_subscription(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("sns")
    arn = _subscribe(client, str(props.get("TopicArn")), props, where_of(logical_id))
    return Identity(arn, {"Arn": arn})


def _subscribe(client: Any, topic_arn: str, props: dict[str, Any], where: tuple[str | int, ...]) -> str:
    if str(props.get("Protocol", "")).lower() == "lambda":
        # moto would hand the message to its own Lambda backend, which does not run our functions.
        raise LocalCloudTemplateError(
            "SNS subscriptions with protocol lambda are not delivered locally", location=location_of(*where)
        )
    attributes = text_attributes(
        props, ("DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy")
    )
    params = api_params(client, "Subscribe", {**props, "TopicArn": topic_arn}, where=where)
    params.pop("Attributes", None)
    response = client.subscribe(**params, Attributes=attributes, ReturnSubscriptionArn=True)
    return str(response["SubscriptionArn"])
