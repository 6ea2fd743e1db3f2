"""template.yaml's orders database: the cluster as issue 4 specifies it, least-privilege functions, and a
migration custom resource whose trigger property follows the migration files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from commerce.adapters.orders_db.migrations import load_migrations, migrations_checksum
from commerce.adapters.orders_db.reader import READER_ROLE
from tests.support.template import ROOT, load_template, resource

MIGRATIONS = ROOT / "db" / "migrations"
ORDER_FUNCTIONS = {
    "ListOrdersFunction": ("GET", "/orders", None),
    "GetOrderFunction": ("GET", "/orders/{orderId}", None),
    "AdminListOrdersFunction": ("GET", "/admin/orders", "OperatorAuthorizer"),
    "AdminGetOrderFunction": ("GET", "/admin/orders/{orderId}", "OperatorAuthorizer"),
    "FulfillOrderFunction": ("POST", "/admin/orders/{orderId}/fulfill", "OperatorAuthorizer"),
    "CancelOrderFunction": ("POST", "/admin/orders/{orderId}/cancel", "OperatorAuthorizer"),
}
CLUSTER_ARN = {"Fn::GetAtt": ["OrdersDbCluster", "DBClusterArn"]}
SECRET_ARN = {"Fn::GetAtt": ["OrdersDbCluster", "MasterUserSecret.SecretArn"]}
READER_SECRET_ARN = {"Ref": "OrdersDbReaderSecret"}
# The order functions that only read: they log in as commerce_reader (migration 0004), never as the master user.
READER_FUNCTIONS = {"ListOrdersFunction", "GetOrderFunction", "AdminListOrdersFunction", "AdminGetOrderFunction"}


def props(logical_id: str) -> dict[str, Any]:
    return resource(logical_id)["Properties"]


def statements(logical_id: str) -> list[dict[str, Any]]:
    return [s for policy in props(logical_id)["Policies"] for s in policy["Statement"]]


def test_migrations_checksum_follows_the_migration_files() -> None:
    # Given the migration files, Then the custom resource's trigger property is their fingerprint, so a deploy
    # that adds or changes a migration updates the resource and the migrations run
    expected = migrations_checksum(load_migrations(MIGRATIONS))
    assert props("OrdersDbSchema")["MigrationsChecksum"] == expected, (
        f"set OrdersDbSchema.Properties.MigrationsChecksum in template.yaml to {expected!r}"
    )


def test_the_migration_function_ships_the_migrations() -> None:
    # Given the migration function's code directory, Then its `migrations` are db/migrations, file for file
    code_dir = ROOT / props("MigrateOrdersDbFunction")["CodeUri"]
    shipped = sorted(p.name for p in (code_dir / "migrations").glob("*.sql"))
    assert shipped == sorted(p.name for p in MIGRATIONS.glob("*.sql"))
    assert (code_dir / "migrations").resolve() == MIGRATIONS.resolve()


def test_the_custom_resource_runs_the_migration_function_once_the_instance_exists() -> None:
    schema = resource("OrdersDbSchema")
    assert schema["Type"] == "AWS::CloudFormation::CustomResource"
    assert schema["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["MigrateOrdersDbFunction", "Arn"]}
    assert schema["DependsOn"] == "OrdersDbInstance"


def test_the_cluster_is_serverless_v2_with_auto_pause_and_the_data_api() -> None:
    cluster = props("OrdersDbCluster")
    assert cluster["Engine"] == "aurora-postgresql"
    major, minor = (int(part) for part in cluster["EngineVersion"].split("."))
    assert (major, minor) >= (17, 4)  # Data API and 0-ACU auto-pause
    scaling = cluster["ServerlessV2ScalingConfiguration"]
    assert scaling["MinCapacity"] == 0
    assert scaling["MaxCapacity"] == {"Ref": "OrdersDbMaxCapacity"}
    assert scaling["SecondsUntilAutoPause"] == {"Ref": "OrdersDbSecondsUntilAutoPause"}
    assert cluster["EnableHttpEndpoint"] is True
    assert cluster["StorageEncrypted"] is True
    assert cluster["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in cluster
    assert cluster["DeletionProtection"] == {"Ref": "OrdersDbDeletionProtection"}
    assert cluster["BackupRetentionPeriod"] == {"Ref": "OrdersDbBackupRetentionDays"}
    assert props("OrdersDbInstance")["DBInstanceClass"] == "db.serverless"
    assert props("OrdersDbInstance")["PubliclyAccessible"] is False


def test_the_database_network_admits_nothing() -> None:
    # Given the security group, Then it has no ingress at all
    group = props("OrdersDbSecurityGroup")
    assert "SecurityGroupIngress" not in group
    assert not [r for r in load_template()["Resources"].values() if r["Type"] == "AWS::EC2::SecurityGroupIngress"]
    # And the subnets are in two different Availability Zones, with nothing routing them to the internet
    zones = [props(s)["AvailabilityZone"]["Fn::Select"][0] for s in ("OrdersDbSubnetA", "OrdersDbSubnetB")]
    assert sorted(zones) == [0, 1]
    kinds = {r["Type"] for r in load_template()["Resources"].values()}
    assert not kinds & {"AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::Route"}


# Order functions that move money also reach the payment provider (its URL and API key secret) and the
# checkout records that hold each order's payment.
MONEY_FUNCTIONS = {"CancelOrderFunction"}
PAYMENTS_ENV = {
    "PAYMENTS_API_URL": {"Ref": "PaymentsApiUrl"},
    "PAYMENTS_API_KEY_SECRET_ARN": {"Ref": "PaymentsApiKeySecret"},
}


@pytest.mark.parametrize("logical_id", [*ORDER_FUNCTIONS, "MigrateOrdersDbFunction"])
def test_order_functions_reach_only_their_cluster_and_secret(logical_id: str) -> None:
    function = props(logical_id)
    moves_money = logical_id in MONEY_FUNCTIONS
    migrates = logical_id == "MigrateOrdersDbFunction"
    secret = READER_SECRET_ARN if logical_id in READER_FUNCTIONS else SECRET_ARN
    # They are outside any VPC and know where the database is (and, moving money, the payment provider; the
    # migration function, the reader's secret whose password it sets)
    assert "VpcConfig" not in function
    assert function["Environment"]["Variables"] == {
        "ORDERS_DB_CLUSTER_ARN": CLUSTER_ARN,
        "ORDERS_DB_SECRET_ARN": secret,
        "ORDERS_DB_NAME": {"Ref": "OrdersDbName"},
        **(PAYMENTS_ENV if moves_money else {}),
        **({"ORDERS_DB_READER_SECRET_ARN": READER_SECRET_ARN} if migrates else {}),
    }
    # And every permission is scoped: Data API actions on the cluster, the secrets' values, nothing with wildcards
    for statement in statements(logical_id):
        actions = statement["Action"]
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in actions)
        if any(a.startswith("rds-data:") for a in actions):
            assert statement["Resource"] == CLUSTER_ARN
        if any(a.startswith("secretsmanager:") for a in actions):
            assert actions == ["secretsmanager:GetSecretValue"]
            expected = (
                [secret, {"Ref": "PaymentsApiKeySecret"}]
                if moves_money
                else [secret, READER_SECRET_ARN]
                if migrates
                else secret
            )
            # (or the list cursors' MAC key, commerce.api.pagination)
            assert statement["Resource"] in (expected, {"Ref": "CursorSecret"})
        if any(a.startswith("dynamodb:") for a in actions):
            assert statement["Resource"] in (
                [{"Fn::GetAtt": ["CommerceTable", "Arn"]}],
                {"Fn::GetAtt": ["CommerceTable", "Arn"]},
            )


@pytest.mark.parametrize(("logical_id", "route"), ORDER_FUNCTIONS.items())
def test_endpoint_functions_only_execute_statements(logical_id: str, route: tuple[str, str, str | None]) -> None:
    # Reads are one statement and a transition is one statement: no transactions, no batches
    rds_actions = {a for s in statements(logical_id) for a in s["Action"] if a.startswith("rds-data:")}
    assert rds_actions == {"rds-data:ExecuteStatement"}
    # And each is routed as the contract says, admin routes behind the Cognito authorizer
    method, path, authorizer = route
    [event] = props(logical_id)["Events"].values()
    assert (event["Properties"]["Method"], event["Properties"]["Path"]) == (method, path)
    assert (event["Properties"].get("Auth") or {}).get("Authorizer") == authorizer
    assert Path(ROOT / props(logical_id)["CodeUri"] / "app.py").is_file()


@pytest.mark.parametrize("logical_id", sorted(READER_FUNCTIONS))
def test_reader_functions_cannot_read_the_master_users_secret(logical_id: str) -> None:
    # Given a function that only reads orders, Then no statement names the master user's secret, whatever else
    # the statement allows: it reaches the database only as commerce_reader
    granted = [
        s["Resource"] for s in statements(logical_id) if any(a.startswith("secretsmanager:") for a in s["Action"])
    ]
    flat = [r for resource in granted for r in (resource if isinstance(resource, list) else [resource])]
    assert SECRET_ARN not in flat
    assert READER_SECRET_ARN in flat
    assert "MasterUserSecret" not in str(props(logical_id))


def test_every_function_that_reaches_the_orders_db_with_the_reader_secret_is_a_reader() -> None:
    # Given every function of the template, Then those that log in as commerce_reader are exactly the readers,
    # and every other function that reaches the database logs in as the master user (it writes)
    functions = {k: r for k, r in load_template()["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    secrets = {
        k: r["Properties"].get("Environment", {}).get("Variables", {}).get("ORDERS_DB_SECRET_ARN")
        for k, r in functions.items()
    }
    assert {k for k, v in secrets.items() if v == READER_SECRET_ARN} == READER_FUNCTIONS
    assert all(v in (None, SECRET_ARN) for k, v in secrets.items() if k not in READER_FUNCTIONS)


def test_the_reader_secret_is_generated_with_the_reader_roles_name() -> None:
    secret = resource("OrdersDbReaderSecret")
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    generate = secret["Properties"]["GenerateSecretString"]
    # The Data API needs username and password in the secret; the username is migration 0004's role
    assert json.loads(generate["SecretStringTemplate"]) == {"username": READER_ROLE}
    assert generate["GenerateStringKey"] == "password"
    assert generate["ExcludePunctuation"] is True
    assert generate["PasswordLength"] >= 32
    assert f"CREATE ROLE {READER_ROLE} LOGIN" in (MIGRATIONS / "0004_reader_role.sql").read_text()
