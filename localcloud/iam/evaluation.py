"""Is one IAM request allowed by a set of identity-based policy documents? (AWS's evaluation logic.)

Actions and resources are matched by moto's `IAMPolicy` (`moto.iam.access_control`): an explicit Deny
wins, else an Allow permits, else the request is implicitly denied. Two things moto does not do are
done here, before a document is handed to it:

- Conditions. moto only evaluates `StringEquals` (and, for a statement whose condition fails, answers
  Deny even when the statement is an Allow). So each statement's `Condition` is evaluated here against
  the request's context (`dynamodb:LeadingKeys`, ...) with the String operators, their `IfExists`
  forms and the `ForAllValues:`/`ForAnyValue:` set qualifiers; a statement whose condition does not
  hold is left out, one whose condition holds is passed on without it. A statement using another
  operator never applies (logged once): the local cloud cannot say whether AWS would apply it.
- Case. Action names match case-insensitively on AWS (moto compares them as written).

`NotResource` is not evaluated (moto would read such a statement as matching every resource): a statement
with one is left out, and logged once.
"""

from __future__ import annotations

import fnmatch
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from moto.iam.access_control import IAMPolicy, PermissionResult

logger = logging.getLogger(__name__)

Document = dict[str, Any]
_warned: set[str] = set()


@dataclass(frozen=True)
class IamRequest:
    """One authorisation AWS makes for a call: an action on a resource, with the request's condition keys."""

    action: str  # "dynamodb:PutItem"
    resource: str  # the resource's ARN, or "*" for actions that take no resource
    context: Mapping[str, Sequence[str]] = field(default_factory=dict)  # condition key -> its values


class Decision(Enum):
    ALLOWED = "allowed"
    IMPLICIT_DENY = "no identity-based policy allows it"
    EXPLICIT_DENY = "an identity-based policy denies it"


def evaluate(request: IamRequest, documents: Iterable[Document]) -> Decision:
    """AWS's answer for `request` under these identity-based policies (no boundaries, no SCPs)."""
    permitted = False
    for document in documents:
        applicable = _applicable(document, request.context)
        if not applicable["Statement"]:
            continue
        result = IAMPolicy(json.dumps(applicable)).is_action_permitted(request.action.lower(), request.resource)
        if result == PermissionResult.DENIED:
            return Decision.EXPLICIT_DENY
        permitted = permitted or result == PermissionResult.PERMITTED
    return Decision.ALLOWED if permitted else Decision.IMPLICIT_DENY


def _applicable(document: Document, context: Mapping[str, Sequence[str]]) -> Document:
    """The document's statements whose conditions hold, without their conditions, actions lower-cased."""
    statements = document.get("Statement", [])
    kept = []
    for statement in statements if isinstance(statements, list) else [statements]:
        if "NotResource" in statement:
            _warn_once("NotResource", "a statement with NotResource is not evaluated locally: it never applies")
            continue
        if not _conditions_hold(statement.get("Condition") or {}, context):
            continue
        kept.append(
            {
                **{k: v for k, v in statement.items() if k != "Condition"},
                **{k: _lower(statement[k]) for k in ("Action", "NotAction") if k in statement},
            }
        )
    return {"Version": "2012-10-17", "Statement": kept}


def _lower(actions: str | list[str]) -> str | list[str]:
    return actions.lower() if isinstance(actions, str) else [a.lower() for a in actions]


# The string operators: does one request value satisfy one policy value?
_STRING_OPERATORS = {
    "StringEquals": lambda actual, expected: actual == expected,
    "StringEqualsIgnoreCase": lambda actual, expected: actual.lower() == expected.lower(),
    "StringLike": lambda actual, expected: fnmatch.fnmatchcase(actual, expected),
    "ArnEquals": lambda actual, expected: actual == expected,
    "ArnLike": lambda actual, expected: fnmatch.fnmatchcase(actual, expected),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _conditions_hold(conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, Sequence[str]]) -> bool:
    """All of a statement's conditions hold (AND over operators and keys, OR over each key's values)."""
    return all(
        _condition_holds(operator, key, expected, context)
        for operator, keys in conditions.items()
        for key, expected in keys.items()
    )


def _condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, Sequence[str]]) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    negated = name in _NEGATED
    base = _NEGATED.get(name, name)
    if qualifier not in ("", "ForAllValues", "ForAnyValue") or base not in _STRING_OPERATORS:
        _warn_once(operator, f"condition operator {operator} is not evaluated locally: its statement never applies")
        return False
    match = _STRING_OPERATORS[base]
    policy_values = [str(v) for v in (expected if isinstance(expected, list) else [expected])]
    # Condition keys are case-insensitive; the request's context is keyed in lower case.
    actual = context.get(key.lower())
    if actual is None:
        # A missing key: ForAllValues holds vacuously, IfExists and the negated operators hold, the rest do not.
        return qualifier == "ForAllValues" or if_exists or negated

    def satisfied(value: str) -> bool:
        hit = any(match(value, p) for p in policy_values)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(satisfied(v) for v in actual)
    return any(satisfied(v) for v in actual)


def _warn_once(what: str, message: str) -> None:
    if what not in _warned:
        _warned.add(what)
        logger.warning("IAM: %s", message)
