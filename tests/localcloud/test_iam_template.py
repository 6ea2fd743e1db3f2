"""IAM enforced locally on this repository's template.yaml: its policies as the local cloud evaluates them.

- The policies, read offline (`PolicyBook` fed by `deploy`): what the tightened statements allow and refuse.
- A function run in a local cloud from a slice of the template: it works with its policies as written, and its
  call is refused when a copy of the template lacks the permission it needs (as it would fail on AWS).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from localcloud.aws import function_access_key
from localcloud.cloud import LocalCloud
from localcloud.iam.component import IamService
from localcloud.iam.evaluation import Decision, IamRequest, evaluate
from localcloud.iam.policies import PolicyBook
from localcloud.template import deploy, load_stack, offline_create, read_template
from localcloud.template.intrinsics import referenced_names
from localcloud.template.order import dependencies
from tests.localcloud.conftest import ROOT

REGION, ACCOUNT = "us-east-1", "123456789012"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/localcloud-CommerceTable"


@pytest.fixture(scope="module")
def offline() -> tuple[PolicyBook, dict[str, str]]:
    """The real template's policies, and each function's ARN by logical id (nothing created)."""
    stack = load_stack(ROOT / "template.yaml", region=REGION, stack_name="localcloud")
    book = PolicyBook()
    app = deploy(stack, offline_create(stack), on_resource=book.learn)
    return book, {logical_id: fn.arn for logical_id, fn in app.functions.items()}


def decide(offline: tuple[PolicyBook, dict[str, str]], function: str, request: IamRequest) -> Decision:
    book, arns = offline
    principal = book.principal(function_access_key(arns[function]))
    assert principal is not None
    return evaluate(request, book.documents(principal))


@pytest.mark.parametrize(
    "function", ["GetCartFunction", "AddCartLineFunction", "SetCartLineFunction", "RemoveCartLineFunction"]
)
def test_cart_functions_write_sessions_and_carts_only(
    offline: tuple[PolicyBook, dict[str, str]], function: str
) -> None:
    def put(*keys: str) -> Decision:
        return decide(offline, function, IamRequest("dynamodb:PutItem", TABLE_ARN, {"dynamodb:leadingkeys": keys}))

    assert put("CART#SESSION#s1") is Decision.ALLOWED
    assert put("SESSION#s1") is Decision.ALLOWED
    assert put("CHECKOUT#c1") is Decision.IMPLICIT_DENY
    assert put("SKU#sku-1") is Decision.IMPLICIT_DENY
    assert put("CART#SESSION#s1", "RESERVATION#r1") is Decision.IMPLICIT_DENY
    reads = IamRequest("dynamodb:BatchGetItem", TABLE_ARN, {"dynamodb:leadingkeys": ["SESSION#s1", "SKU#sku-1"]})
    assert decide(offline, function, reads) is Decision.ALLOWED
    order_read = IamRequest("dynamodb:GetItem", TABLE_ARN, {"dynamodb:leadingkeys": ["PAYMENT#pi_1"]})
    assert decide(offline, function, order_read) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize("function", ["PaymentWebhookFunction", "CancelCheckoutFunction"])
def test_task_token_actions_name_the_checkout_state_machine(
    offline: tuple[PolicyBook, dict[str, str]], function: str
) -> None:
    checkout = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:localcloud-CheckoutStateMachine"
    other = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:someone-elses"

    assert decide(offline, function, IamRequest("states:SendTaskFailure", checkout)) is Decision.ALLOWED
    assert decide(offline, function, IamRequest("states:SendTaskFailure", other)) is Decision.IMPLICIT_DENY


READERS = ["ListOrdersFunction", "GetOrderFunction", "AdminListOrdersFunction", "AdminGetOrderFunction"]
WRITERS = ["FulfillOrderFunction", "CancelOrderFunction", "RefundOrderFunction", "CompleteCheckoutFunction"]


@pytest.fixture(scope="module")
def orders_db_arns() -> dict[str, str]:
    """The orders cluster and its two secrets (master, reader) as the offline stack names them."""
    stack = load_stack(ROOT / "template.yaml", region=REGION, stack_name="localcloud")
    app = deploy(stack, offline_create(stack))
    cluster = app.attributes["OrdersDbCluster"]
    return {
        "cluster": str(cluster["DBClusterArn"]),
        "master": str(cluster["MasterUserSecret.SecretArn"]),
        "reader": app.physical_ids["OrdersDbReaderSecret"],
    }


@pytest.mark.parametrize("function", READERS)
def test_order_readers_cannot_read_the_master_users_secret(
    offline: tuple[PolicyBook, dict[str, str]], orders_db_arns: dict[str, str], function: str
) -> None:
    # A Data API call needs GetSecretValue on the secret it names: the readers hold only the reader's secret, so
    # they reach the database as commerce_reader (SELECT only) and never as the master user.
    def read(secret: str) -> Decision:
        return decide(offline, function, IamRequest("secretsmanager:GetSecretValue", orders_db_arns[secret]))

    assert read("reader") is Decision.ALLOWED
    assert read("master") is Decision.IMPLICIT_DENY
    execute = IamRequest("rds-data:ExecuteStatement", orders_db_arns["cluster"])
    assert decide(offline, function, execute) is Decision.ALLOWED


@pytest.mark.parametrize("function", [*WRITERS, "MigrateOrdersDbFunction"])
def test_order_writers_use_the_master_users_secret(
    offline: tuple[PolicyBook, dict[str, str]], orders_db_arns: dict[str, str], function: str
) -> None:
    def read(secret: str) -> Decision:
        return decide(offline, function, IamRequest("secretsmanager:GetSecretValue", orders_db_arns[secret]))

    assert read("master") is Decision.ALLOWED
    # Only the migration function, which sets the reader's password from it, reads the reader's secret
    expected = Decision.ALLOWED if function == "MigrateOrdersDbFunction" else Decision.IMPLICIT_DENY
    assert read("reader") is expected


# ---------------------------------------------------------------------------------------------- run for real
def sliced_project(root: Path, functions: list[str], edit: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """A project whose template is these functions of the real one (no events) and what they reference."""
    template = read_template(ROOT / "template.yaml")
    resources = template["Resources"]
    needs = dependencies(resources)
    keep: set[str] = set()
    globals_need = [name for name in referenced_names(template.get("Globals") or {}) if name in resources]
    pending = [*functions, *globals_need, "CommonLayer", "FunctionsLogGroup", "CommerceTable", "UserPool"]
    while pending:
        name = pending.pop()
        if name not in keep:
            keep.add(name)
            pending.extend(needs[name] if name not in functions else [n for n in needs[name] if n != "HttpApi"])
    sliced = copy.deepcopy({**template, "Resources": {k: v for k, v in resources.items() if k in keep}})
    sliced.pop("Outputs", None)
    for name in functions:
        sliced["Resources"][name]["Properties"].pop("Events", None)
    if edit is not None:
        edit(sliced)
    root.mkdir()
    (root / "template.yaml").write_text(yaml.safe_dump(sliced, sort_keys=False))
    for directory in ("functions", "layers", "db"):
        (root / directory).symlink_to(ROOT / directory)
    return root


def create_session(cloud: LocalCloud) -> dict[str, Any]:
    event = json.loads((ROOT / "events" / "create_session.json").read_text())
    result: dict[str, Any] = cloud.invoke("CreateSessionFunction", event)
    return result


def test_a_function_runs_with_the_policies_the_template_gives_it(
    tmp_path: Path, start_local_cloud: Callable[..., LocalCloud]
) -> None:
    cloud = start_local_cloud(sliced_project(tmp_path / "p", ["CreateSessionFunction"]), services=[IamService()])

    assert create_session(cloud)["statusCode"] == 201


def test_a_function_whose_template_lacks_a_permission_it_needs_is_refused(
    tmp_path: Path, start_local_cloud: Callable[..., LocalCloud], caplog: pytest.LogCaptureFixture
) -> None:
    def without_put_item(template: dict[str, Any]) -> None:
        statement = template["Resources"]["CreateSessionFunction"]["Properties"]["Policies"][0]["Statement"][0]
        assert statement["Action"] == ["dynamodb:PutItem"]
        statement["Action"] = ["dynamodb:GetItem"]

    project = sliced_project(tmp_path / "p", ["CreateSessionFunction"], without_put_item)
    cloud = start_local_cloud(project, services=[IamService()])

    assert create_session(cloud)["statusCode"] == 500
    refusals = [r.getMessage() for r in caplog.records if r.name == "localcloud.iam.guard"]
    assert len(refusals) == 1
    assert "CreateSessionFunction is not authorized to perform: dynamodb:PutItem" in refusals[0]
    table = cloud.app.physical_ids["CommerceTable"]
    assert cloud.client("dynamodb").scan(TableName=table)["Count"] == 0
