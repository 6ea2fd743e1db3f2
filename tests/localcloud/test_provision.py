"""Provisioning: the template's resources created in the local services, as declared, in dependency order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from localcloud.edge import EdgeApp
from localcloud.model import LocalApp
from localcloud.provision import provision
from localcloud.server import BackgroundServer
from localcloud.template import LocalCloudTemplateError, load_stack
from localcloud.totp import totp_code
from tests.localcloud.conftest import ThrowawayProject, unique_stack_name
from tests.support.template import resource

pytestmark = pytest.mark.localcloud


@pytest.fixture(scope="module")
def edge_url() -> Iterator[str]:
    with BackgroundServer(EdgeApp(), name="provision-test-edge") as server:
        yield server.url


def _client(service: str, edge_url: str) -> Any:
    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    return session.client(service, endpoint_url=edge_url)  # type: ignore[call-overload]


def _provision(project: ThrowawayProject, edge_url: str, **overrides: str) -> LocalApp:
    stack = load_stack(project.write(), stack_name=unique_stack_name(), parameter_overrides=overrides)
    return provision(stack, endpoint_url=edge_url)


def test_the_commerce_table_is_created_exactly_as_template_yaml_declares_it(
    throwaway_project: ThrowawayProject, edge_url: str
) -> None:
    # Given the CommerceTable declaration of the real template.yaml
    declared = resource("CommerceTable")["Properties"]
    throwaway_project.resources["CommerceTable"] = {"Type": "AWS::DynamoDB::Table", "Properties": declared}

    # When it is provisioned
    app = _provision(throwaway_project, edge_url)

    # Then DynamoDB has it with the same keys, attributes, indexes, billing, TTL and recovery settings
    dynamodb = _client("dynamodb", edge_url)
    name = app.physical_ids["CommerceTable"]
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert table["KeySchema"] == declared["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(declared["AttributeDefinitions"], key=str)
    assert table["BillingModeSummary"]["BillingMode"] == declared["BillingMode"]
    indexes = {i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in table["GlobalSecondaryIndexes"]}
    assert indexes == {i["IndexName"]: (i["KeySchema"], i["Projection"]) for i in declared["GlobalSecondaryIndexes"]}
    assert "LocalSecondaryIndexes" not in declared or table["LocalSecondaryIndexes"]
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": declared["TimeToLiveSpecification"]["AttributeName"]}
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert app.attributes["CommerceTable"]["Arn"] == table["TableArn"]


def test_a_table_stream_is_created_and_its_arn_feeds_the_stream_source(
    throwaway_project: ThrowawayProject, edge_url: str
) -> None:
    # Given a table with a stream and a function reading it
    project = throwaway_project
    project.resources["Events"] = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        },
    }
    project.function(
        "Reader",
        "def handler(event, context):\n    return {}\n",
        events={
            "Changes": {
                "Type": "DynamoDB",
                "Properties": {"Stream": {"Fn::GetAtt": ["Events", "StreamArn"]}, "StartingPosition": "LATEST"},
            }
        },
    )

    # When it is provisioned
    app = _provision(project, edge_url)

    # Then the table streams, and the stream source names the table and the stream moto created
    table = _client("dynamodb", edge_url).describe_table(TableName=app.physical_ids["Events"])["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    (source,) = app.stream_sources
    assert (source.function, source.table_name, source.stream_arn) == (
        "Reader",
        app.physical_ids["Events"],
        table["LatestStreamArn"],
    )


def test_queues_are_created_with_their_redrive_policy_pointing_at_the_dead_letter_queue(
    throwaway_project: ThrowawayProject, edge_url: str
) -> None:
    # Given a queue whose redrive policy names a dead-letter queue declared after it
    project = throwaway_project
    project.transform = False
    project.resources["Work"] = {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "VisibilityTimeout": 45,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["WorkDlq", "Arn"]}, "maxReceiveCount": 4},
        },
    }
    project.resources["WorkDlq"] = {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 1209600}}

    # When they are provisioned
    app = _provision(project, edge_url)

    # Then the dead-letter queue exists first, and the work queue's attributes are the declared ones
    sqs = _client("sqs", edge_url)
    attributes = sqs.get_queue_attributes(QueueUrl=app.physical_ids["Work"], AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "45"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": app.attributes["WorkDlq"]["Arn"],
        "maxReceiveCount": 4,
    }
    assert app.physical_ids["Work"].startswith(edge_url)


def test_cognito_ids_assigned_by_the_service_feed_the_resources_that_refer_to_them(
    throwaway_project: ThrowawayProject, edge_url: str
) -> None:
    # Given the real template's two user pools, their clients and the admin group, and a function using ids
    project = throwaway_project
    for logical_id in ("UserPool", "UserPoolClient", "OperatorUserPool", "OperatorUserPoolClient", "AdminGroup"):
        project.resources[logical_id] = resource(logical_id)
    project.function(
        "Fn",
        "def handler(event, context):\n    return 1\n",
        environment={"POOL": {"Ref": "UserPool"}, "CLIENT": {"Ref": "UserPoolClient"}},
    )

    # When they are provisioned
    app = _provision(project, edge_url)

    # Then the function sees the ids Cognito assigned, and the group is in the operators' pool only
    cognito = _client("cognito-idp", edge_url)
    pool_id = app.physical_ids["UserPool"]
    client = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=app.physical_ids["UserPoolClient"])
    assert (
        client["UserPoolClient"]["ExplicitAuthFlows"] == resource("UserPoolClient")["Properties"]["ExplicitAuthFlows"]
    )
    assert app.functions["Fn"].environment == {"POOL": pool_id, "CLIENT": app.physical_ids["UserPoolClient"]}
    assert cognito.list_groups(UserPoolId=pool_id)["Groups"] == []
    operators = app.physical_ids["OperatorUserPool"]
    assert [g["GroupName"] for g in cognito.list_groups(UserPoolId=operators)["Groups"]] == ["admin"]


def test_a_state_machine_from_a_definition_file_gets_its_substitutions(
    throwaway_project: ThrowawayProject, edge_url: str
) -> None:
    # Given a state machine whose DefinitionUri file uses ${QueueUrl}, set through DefinitionSubstitutions
    project = throwaway_project
    (project.root / "flow.asl.json").write_text(
        json.dumps(
            {
                "StartAt": "Send",
                "States": {
                    "Send": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::sqs:sendMessage",
                        "Parameters": {"QueueUrl": "${QueueUrl}", "MessageBody": "hello"},
                        "End": True,
                    }
                },
            }
        )
    )
    project.resources["Outbox"] = {"Type": "AWS::SQS::Queue"}
    project.resources["Flow"] = {
        "Type": "AWS::Serverless::StateMachine",
        "Properties": {
            "DefinitionUri": "flow.asl.json",
            "DefinitionSubstitutions": {"QueueUrl": {"Ref": "Outbox"}},
            "Policies": [{"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": ["Outbox", "QueueName"]}}}],
        },
    }

    # When it is provisioned
    app = _provision(project, edge_url)

    # Then Step Functions has the definition with the queue's URL in place of the placeholder
    machine = _client("stepfunctions", edge_url).describe_state_machine(stateMachineArn=app.physical_ids["Flow"])
    definition = json.loads(machine["definition"])
    assert definition["States"]["Send"]["Parameters"]["QueueUrl"] == app.physical_ids["Outbox"]


def test_a_placeholder_without_substitution_is_an_error_naming_the_state_machine(
    throwaway_project: ThrowawayProject, edge_url: str
) -> None:
    # Given a definition that uses ${Missing}, which no substitution sets
    throwaway_project.resources["Flow"] = {
        "Type": "AWS::Serverless::StateMachine",
        "Properties": {
            "Definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "${Missing}", "End": True}}},
            "DefinitionSubstitutions": {"Other": "x"},
        },
    }

    # When it is provisioned, Then the error names the state machine's DefinitionSubstitutions
    with pytest.raises(LocalCloudTemplateError) as raised:
        _provision(throwaway_project, edge_url)
    assert raised.value.location == "Resources.Flow.Properties.DefinitionSubstitutions"


def test_a_generated_secret_follows_its_template(throwaway_project: ThrowawayProject, edge_url: str) -> None:
    # Given a secret generated from a JSON template
    throwaway_project.transform = False
    throwaway_project.resources["DbSecret"] = {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {
            "GenerateSecretString": {
                "SecretStringTemplate": '{"username": "app"}',
                "GenerateStringKey": "password",
                "PasswordLength": 24,
                "ExcludePunctuation": True,
            }
        },
    }

    # When it is provisioned
    app = _provision(throwaway_project, edge_url)

    # Then its value is the template with a generated password of that length
    value = _client("secretsmanager", edge_url).get_secret_value(SecretId=app.physical_ids["DbSecret"])
    secret = json.loads(value["SecretString"])
    assert secret["username"] == "app"
    assert len(secret["password"]) == 24


def test_an_eventbridge_rule_keeps_moto_deliverable_targets_and_describes_function_targets(
    throwaway_project: ThrowawayProject, edge_url: str
) -> None:
    # Given a rule with a queue target and a function target
    project = throwaway_project
    project.resources["Audit"] = {"Type": "AWS::SQS::Queue"}
    project.function("OnOrder", "def handler(event, context):\n    return {}\n")
    project.resources["OrderRule"] = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "EventPattern": {"detail-type": ["OrderPlaced"]},
            "Targets": [
                {"Id": "audit", "Arn": {"Fn::GetAtt": ["Audit", "Arn"]}},
                {"Id": "fn", "Arn": {"Fn::GetAtt": ["OnOrder", "Arn"]}},
            ],
        },
    }

    # When it is provisioned
    app = _provision(project, edge_url)

    # Then EventBridge (moto) delivers to the queue itself, and the function target is left to the local cloud
    targets = _client("events", edge_url).list_targets_by_rule(Rule=app.physical_ids["OrderRule"])["Targets"]
    assert [t["Arn"] for t in targets] == [app.attributes["Audit"]["Arn"]]
    (rule,) = app.rules
    assert [(t.kind, t.arn, t.target_id) for t in rule.targets] == [("lambda", app.functions["OnOrder"].arn, "fn")]


def test_an_unsupported_resource_type_is_an_error_naming_the_resource_type(
    throwaway_project: ThrowawayProject, edge_url: str
) -> None:
    # Given a resource type the local cloud does not emulate
    throwaway_project.transform = False
    throwaway_project.resources["Graph"] = {"Type": "AWS::AppSync::GraphQLApi", "Properties": {"Name": "g"}}

    # When it is provisioned, Then the error points at its Type
    with pytest.raises(LocalCloudTemplateError) as raised:
        _provision(throwaway_project, edge_url)
    assert raised.value.location == "Resources.Graph.Type"


def test_a_resource_the_service_refuses_is_an_error_naming_the_resource(
    throwaway_project: ThrowawayProject, edge_url: str
) -> None:
    # Given a table whose key uses an attribute it does not define
    throwaway_project.transform = False
    throwaway_project.resources["BadTable"] = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "Other", "KeyType": "HASH"}],
        },
    }

    # When it is provisioned, Then DynamoDB's refusal is reported against the resource
    with pytest.raises(LocalCloudTemplateError) as raised:
        _provision(throwaway_project, edge_url)
    assert raised.value.location == "Resources.BadTable"


def test_a_pool_requiring_totp_comes_up_with_software_token_mfa_on_and_challenges_for_the_code(
    throwaway_project: ThrowawayProject, edge_url: str
) -> None:
    # Given a pool declaring MFA "ON" with software tokens (EnabledMfas has no CreateUserPool member) and a client
    project = throwaway_project
    project.resources["Pool"] = {
        "Type": "AWS::Cognito::UserPool",
        "Properties": {"MfaConfiguration": "ON", "EnabledMfas": ["SOFTWARE_TOKEN_MFA"]},
    }
    project.resources["PoolClient"] = {
        "Type": "AWS::Cognito::UserPoolClient",
        "Properties": {
            "UserPoolId": {"Ref": "Pool"},
            "GenerateSecret": False,
            "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        },
    }

    # When it is provisioned
    app = _provision(project, edge_url)

    # Then the pool has TOTP on
    cognito = _client("cognito-idp", edge_url)
    pool_id, client_id = app.physical_ids["Pool"], app.physical_ids["PoolClient"]
    config = cognito.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert config["MfaConfiguration"] == "ON"
    assert config["SoftwareTokenMfaConfiguration"] == {"Enabled": True}

    # And a user with an associated, verified token is asked for the code, and signs in with it
    password = "Correct-horse-42"
    cognito.admin_create_user(UserPoolId=pool_id, Username="op", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="op", Password=password, Permanent=True)
    login: dict[str, Any] = {
        "ClientId": client_id,
        "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": {"USERNAME": "op", "PASSWORD": password},
    }
    first = cognito.initiate_auth(**login)
    # (bare moto lets a user with no token yet straight in; the local cloud's edge answers MFA_SETUP: cognito_gate)
    access = first["AuthenticationResult"]["AccessToken"]
    secret = cognito.associate_software_token(AccessToken=access)["SecretCode"]
    verified = cognito.verify_software_token(AccessToken=access, UserCode=totp_code(secret))
    assert verified["Status"] == "SUCCESS"
    challenge = cognito.initiate_auth(**login)
    assert challenge["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    assert "AuthenticationResult" not in challenge
    answered = cognito.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="SOFTWARE_TOKEN_MFA",
        Session=challenge["Session"],
        ChallengeResponses={"USERNAME": "op", "SOFTWARE_TOKEN_MFA_CODE": totp_code(secret)},
    )
    assert answered["AuthenticationResult"]["IdToken"]
