"""IAM enforced locally (localcloud.iam): a function's calls are evaluated against its role's policies.

A throwaway project: one table, two queues, and a function whose policies are a SAM policy template
(`DynamoDBReadPolicy`), an inline statement on one queue and a `dynamodb:LeadingKeys` condition. The
function makes the call its event names and returns what the SDK saw (error code, HTTP status).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from localcloud.cloud import LocalCloud
from localcloud.iam.component import IamService
from localcloud.stepfunctions.component import StepFunctionsService
from tests.localcloud.conftest import ThrowawayProject

pytestmark = pytest.mark.integration

CALLER = """
    import os

    import boto3
    from botocore.exceptions import ClientError


    def handler(event, context):
        client = boto3.client(event["service"])
        try:
            getattr(client, event["operation"])(**event["params"])
        except ClientError as error:
            return {
                "code": error.response["Error"]["Code"],
                "status": error.response["ResponseMetadata"]["HTTPStatusCode"],
                "message": error.response["Error"].get("Message", ""),
            }
        return {"code": "OK"}
"""


@pytest.fixture
def project(throwaway_project: ThrowawayProject) -> ThrowawayProject:
    throwaway_project.resource(
        "Table",
        "AWS::DynamoDB::Table",
        {
            "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    throwaway_project.resource("Allowed", "AWS::SQS::Queue")
    throwaway_project.resource("Other", "AWS::SQS::Queue")
    throwaway_project.function(
        "Caller",
        CALLER,
        Policies=[
            {"DynamoDBReadPolicy": {"TableName": {"Ref": "Table"}}},
            {
                "Statement": [
                    {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": {"Fn::GetAtt": ["Allowed", "Arn"]}},
                    {
                        "Effect": "Allow",
                        "Action": ["dynamodb:PutItem"],
                        "Resource": {"Fn::GetAtt": ["Table", "Arn"]},
                        "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CART#*"]}},
                    },
                ]
            },
        ],
    )
    throwaway_project.write()
    return throwaway_project


@pytest.fixture
def cloud(project: ThrowawayProject, start_local_cloud: Callable[..., LocalCloud]) -> LocalCloud:
    return start_local_cloud(project.root, services=[IamService()])


def call(cloud: LocalCloud, service: str, operation: str, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = cloud.invoke("Caller", {"service": service, "operation": operation, "params": params})
    return result


def table(cloud: LocalCloud) -> str:
    return cloud.app.physical_ids["Table"]


def test_what_the_policies_allow_is_served(cloud: LocalCloud) -> None:
    cloud.client("dynamodb").put_item(TableName=table(cloud), Item={"PK": {"S": "SKU#1"}})

    assert call(cloud, "dynamodb", "get_item", TableName=table(cloud), Key={"PK": {"S": "SKU#1"}}) == {"code": "OK"}
    assert call(cloud, "sqs", "send_message", QueueUrl=cloud.app.physical_ids["Allowed"], MessageBody="x") == {
        "code": "OK"
    }


def test_an_action_no_policy_allows_is_access_denied_as_dynamodb_answers_it(cloud: LocalCloud) -> None:
    denied = call(cloud, "dynamodb", "delete_item", TableName=table(cloud), Key={"PK": {"S": "SKU#1"}})

    assert denied["code"] == "AccessDeniedException"
    assert denied["status"] == 400
    assert denied["message"].startswith(
        f"User: arn:aws:sts::123456789012:assumed-role/{cloud.app.physical_ids['CallerRole']}/"
    )
    assert "dynamodb:DeleteItem" in denied["message"]
    assert f"on resource: arn:aws:dynamodb:us-east-1:123456789012:table/{table(cloud)}" in denied["message"]


def test_another_resource_than_the_policy_names_is_access_denied_as_sqs_answers_it(cloud: LocalCloud) -> None:
    other = cloud.app.physical_ids["Other"]

    denied = call(cloud, "sqs", "send_message", QueueUrl=other, MessageBody="x")

    assert (denied["code"], denied["status"]) == ("AccessDenied", 403)
    assert (
        cloud.client("sqs").get_queue_attributes(QueueUrl=other, AttributeNames=["All"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
        == "0"
    )


def test_an_sqs_batch_operation_is_authorised_as_its_single_message_action(cloud: LocalCloud) -> None:
    entries = [{"Id": "1", "MessageBody": "x"}, {"Id": "2", "MessageBody": "y"}]

    allowed = call(cloud, "sqs", "send_message_batch", QueueUrl=cloud.app.physical_ids["Allowed"], Entries=entries)
    denied = call(cloud, "sqs", "send_message_batch", QueueUrl=cloud.app.physical_ids["Other"], Entries=entries)

    assert allowed == {"code": "OK"}
    assert (denied["code"], denied["status"]) == ("AccessDenied", 403)
    assert "sqs:SendMessage " in denied["message"] + " "


def test_a_leading_keys_condition_limits_the_items_a_function_may_write(cloud: LocalCloud) -> None:
    assert call(cloud, "dynamodb", "put_item", TableName=table(cloud), Item={"PK": {"S": "CART#1"}}) == {"code": "OK"}

    denied = call(cloud, "dynamodb", "put_item", TableName=table(cloud), Item={"PK": {"S": "ORDER#1"}})

    assert denied["code"] == "AccessDeniedException"
    assert "Item" not in cloud.client("dynamodb").get_item(TableName=table(cloud), Key={"PK": {"S": "ORDER#1"}})


def test_a_transaction_needs_the_action_of_each_of_its_items(cloud: LocalCloud) -> None:
    denied = call(
        cloud,
        "dynamodb",
        "transact_write_items",
        TransactItems=[
            {"Put": {"TableName": table(cloud), "Item": {"PK": {"S": "CART#2"}}}},
            {"Delete": {"TableName": table(cloud), "Key": {"PK": {"S": "CART#3"}}}},
        ],
    )

    assert denied["code"] == "AccessDeniedException"
    assert "dynamodb:DeleteItem" in denied["message"]
    assert "Item" not in cloud.client("dynamodb").get_item(TableName=table(cloud), Key={"PK": {"S": "CART#2"}})


def test_the_local_clouds_own_key_is_not_checked(cloud: LocalCloud) -> None:
    cloud.client("dynamodb").delete_item(TableName=table(cloud), Key={"PK": {"S": "SKU#1"}})
    cloud.client("sqs").send_message(QueueUrl=cloud.app.physical_ids["Other"], MessageBody="x")


def test_without_the_iam_room_every_call_is_allowed(
    project: ThrowawayProject, start_local_cloud: Callable[..., LocalCloud]
) -> None:
    cloud = start_local_cloud(project.root, services=[])

    assert call(cloud, "dynamodb", "delete_item", TableName=table(cloud), Key={"PK": {"S": "SKU#1"}}) == {"code": "OK"}


def test_task_token_actions_are_authorised_on_the_state_machine_that_issued_the_token(
    throwaway_project: ThrowawayProject, start_local_cloud: Callable[..., LocalCloud]
) -> None:
    throwaway_project.resource("Tokens", "AWS::SQS::Queue")
    throwaway_project.resource(
        "Machine",
        "AWS::Serverless::StateMachine",
        {
            "Name": "waits-for-a-token",
            "Definition": {
                "StartAt": "Wait",
                "States": {
                    "Wait": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                        "Parameters": {"QueueUrl": {"Ref": "Tokens"}, "MessageBody.$": "$$.Task.Token"},
                        "End": True,
                    }
                },
            },
            "Policies": [{"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": ["Tokens", "QueueName"]}}}],
        },
    )
    throwaway_project.function(
        "Answerer", CALLER, Policies=[{"StepFunctionsCallbackPolicy": {"StateMachineName": "waits-for-a-token"}}]
    )
    throwaway_project.function(
        "Stranger",
        CALLER,
        Policies=[
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["states:SendTaskSuccess"],
                        "Resource": "arn:aws:states:us-east-1:123456789012:stateMachine:another-machine",
                    }
                ]
            }
        ],
    )
    throwaway_project.write()
    cloud = start_local_cloud(throwaway_project.root, services=[IamService(), StepFunctionsService()])
    sfn, sqs = cloud.client("stepfunctions"), cloud.client("sqs")
    execution = sfn.start_execution(stateMachineArn=cloud.app.physical_ids["Machine"])["executionArn"]
    token = sqs.receive_message(QueueUrl=cloud.app.physical_ids["Tokens"], WaitTimeSeconds=10)["Messages"][0]["Body"]

    def answer(function: str) -> dict[str, Any]:
        event = {
            "service": "stepfunctions",
            "operation": "send_task_success",
            "params": {"taskToken": token, "output": "{}"},
        }
        result: dict[str, Any] = cloud.invoke(function, event)
        return result

    denied = answer("Stranger")
    assert (denied["code"], denied["status"]) == ("AccessDeniedException", 400)
    assert "on resource: arn:aws:states:us-east-1:123456789012:stateMachine:waits-for-a-token" in denied["message"]
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    assert answer("Answerer") == {"code": "OK"}
