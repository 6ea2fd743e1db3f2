"""localcloud.iam.evaluation: AWS's evaluation logic on moto's matcher, with the conditions evaluated here."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.cloud import default_services
from localcloud.iam.component import IamService
from localcloud.iam.evaluation import Decision, IamRequest, evaluate

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/t"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str = "dynamodb:GetItem", resource: str = TABLE, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def leading(*keys: str) -> dict[str, list[str]]:
    return {"dynamodb:leadingkeys": list(keys)}


def test_nothing_allows_is_an_implicit_deny_and_an_explicit_deny_wins() -> None:
    request = IamRequest("dynamodb:GetItem", TABLE)

    assert evaluate(request, []) is Decision.IMPLICIT_DENY
    assert evaluate(request, [policy(allow())]) is Decision.ALLOWED
    assert evaluate(request, [policy(allow()), policy({**allow(), "Effect": "Deny"})]) is Decision.EXPLICIT_DENY


def test_actions_match_case_insensitively_and_with_wildcards_resources_exactly() -> None:
    assert evaluate(IamRequest("dynamodb:GetItem", TABLE), [policy(allow("DynamoDB:getitem"))]) is Decision.ALLOWED
    assert evaluate(IamRequest("dynamodb:GetItem", TABLE), [policy(allow("dynamodb:Get*"))]) is Decision.ALLOWED
    assert evaluate(IamRequest("dynamodb:GetItem", TABLE + "/index/g"), [policy(allow())]) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("condition", "context", "decision"),
    [
        ({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CART#*"]}}, leading("CART#1"), Decision.ALLOWED),
        (
            {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CART#*"]}},
            leading("CART#1", "X"),
            Decision.IMPLICIT_DENY,
        ),
        ({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CART#*"]}}, {}, Decision.ALLOWED),  # vacuous, as AWS
        ({"ForAnyValue:StringEquals": {"dynamodb:LeadingKeys": "A"}}, leading("A", "B"), Decision.ALLOWED),
        ({"StringEquals": {"dynamodb:LeadingKeys": "A"}}, {}, Decision.IMPLICIT_DENY),
        ({"StringEqualsIfExists": {"dynamodb:LeadingKeys": "A"}}, {}, Decision.ALLOWED),
        ({"StringNotLike": {"dynamodb:LeadingKeys": "ORDER#*"}}, leading("CART#1"), Decision.ALLOWED),
        ({"StringNotLike": {"dynamodb:LeadingKeys": "ORDER#*"}}, leading("ORDER#1"), Decision.IMPLICIT_DENY),
        ({"NumericLessThan": {"dynamodb:LeadingKeys": "3"}}, leading("1"), Decision.IMPLICIT_DENY),  # not evaluated
    ],
)
def test_conditions(condition: dict[str, Any], context: dict[str, list[str]], decision: Decision) -> None:
    request = IamRequest("dynamodb:GetItem", TABLE, context)

    assert evaluate(request, [policy(allow(Condition=condition))]) is decision


def test_a_deny_whose_condition_does_not_hold_does_not_apply() -> None:
    deny = {**allow(), "Effect": "Deny", "Condition": {"StringLike": {"dynamodb:LeadingKeys": "ORDER#*"}}}

    assert (
        evaluate(IamRequest("dynamodb:GetItem", TABLE, leading("CART#1")), [policy(allow(), deny)]) is Decision.ALLOWED
    )
    assert (
        evaluate(IamRequest("dynamodb:GetItem", TABLE, leading("ORDER#1")), [policy(allow(), deny)])
        is Decision.EXPLICIT_DENY
    )


def test_iam_is_a_default_service_unless_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert any(isinstance(s, IamService) for s in default_services())
    assert not any(isinstance(s, IamService) for s in default_services(iam=False))
    monkeypatch.setenv("LOCALCLOUD_IAM", "off")
    assert not any(isinstance(s, IamService) for s in default_services())
