"""What IAM knows about the stack: each function's role and the role's policies, learnt while provisioning.

`PolicyBook.learn` sees every resource as it is created, properties resolved (ARNs in place of `!GetAtt`),
and after the SAM transform: a function's `Policies:` (inline statements and SAM policy templates such as
`DynamoDBCrudPolicy`) are then the inline `Policies` of its generated `AWS::IAM::Role`, and what SAM adds
for its events and tracing are that role's `ManagedPolicyArns`. AWS managed policies are read from the
copy of their documents moto ships; the template's own `AWS::IAM::ManagedPolicy` and `AWS::IAM::Policy`
resources are learnt like roles. A managed policy ARN known to neither grants nothing (logged).

It also keeps what turning a request into IAM requests needs: each table's key attributes (for
`dynamodb:LeadingKeys`) and each secret's ARN by name.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from moto.iam.aws_managed_policies import aws_managed_policies_data

from localcloud.aws import function_access_key
from localcloud.iam.evaluation import Document
from localcloud.template import Identity

logger = logging.getLogger(__name__)

AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"


@dataclass(frozen=True)
class Principal:
    """Who a function's access key speaks for: its role (the policies) and, for error messages, its session."""

    function_name: str
    role_arn: str

    @property
    def arn(self) -> str:
        """The assumed-role ARN AWS names in AccessDenied messages."""
        _, _, _, _, account, resource = self.role_arn.split(":", 5)
        return f"arn:aws:sts::{account}:assumed-role/{resource.rsplit('/', 1)[-1]}/{self.function_name}"


@dataclass(frozen=True)
class TableKeys:
    """A table's partition key attribute, and each index's."""

    partition_key: str
    index_partition_keys: dict[str, str] = field(default_factory=dict)


class PolicyBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._principals: dict[str, Principal] = {}  # access key -> principal
        self._role_documents: dict[str, list[Document]] = {}  # role ARN -> its inline documents
        self._role_managed: dict[str, list[str]] = {}  # role ARN -> its managed policy ARNs
        self._role_arns: dict[str, str] = {}  # role name -> ARN (AWS::IAM::Policy names its roles)
        self._managed: dict[str, Document] = {}  # the template's own managed policies, by ARN
        self.tables: dict[str, TableKeys] = {}  # table name -> keys
        self.secrets: dict[str, str] = {}  # secret name -> ARN

    def learn(self, logical_id: str, resource_type: str, props: dict[str, Any], identity: Identity) -> None:
        """Take in one provisioned resource (a `deploy` resource listener)."""
        with self._lock:
            if resource_type == "AWS::IAM::Role":
                arn = str(identity.attributes["Arn"])
                self._role_arns[str(identity.ref)] = arn
                self._role_documents[arn] = [p["PolicyDocument"] for p in props.get("Policies") or []]
                self._role_managed[arn] = [str(a) for a in props.get("ManagedPolicyArns") or []]
            elif resource_type == "AWS::IAM::ManagedPolicy":
                self._managed[str(identity.ref)] = props["PolicyDocument"]
                for role in props.get("Roles") or []:
                    self._role_managed.setdefault(self._role_arn(str(role)), []).append(str(identity.ref))
            elif resource_type == "AWS::IAM::Policy":
                for role in props.get("Roles") or []:
                    self._role_documents.setdefault(self._role_arn(str(role)), []).append(props["PolicyDocument"])
            elif resource_type == "AWS::Lambda::Function":
                arn = str(identity.attributes["Arn"])
                self._principals[function_access_key(arn)] = Principal(str(identity.ref), str(props.get("Role", "")))
            elif resource_type == "AWS::DynamoDB::Table":
                self.tables[str(identity.ref)] = TableKeys(
                    _partition_key(props.get("KeySchema") or []),
                    {
                        str(index["IndexName"]): _partition_key(index.get("KeySchema") or [])
                        for index in [
                            *(props.get("GlobalSecondaryIndexes") or []),
                            *(props.get("LocalSecondaryIndexes") or []),
                        ]
                    },
                )
            elif resource_type == "AWS::SecretsManager::Secret":
                arn = str(identity.ref)
                self.secrets[arn.split(":")[-1].rsplit("-", 1)[0]] = arn

    def principal(self, access_key: str) -> Principal | None:
        """The function an access key belongs to, or None for keys that are not a function's."""
        return self._principals.get(access_key)

    def documents(self, principal: Principal) -> list[Document]:
        """Every policy document the principal's role has: inline, then managed."""
        with self._lock:
            inline = list(self._role_documents.get(principal.role_arn, []))
            managed = [self._managed_document(arn) for arn in self._role_managed.get(principal.role_arn, [])]
        return inline + [d for d in managed if d is not None]

    def _role_arn(self, name_or_arn: str) -> str:
        return self._role_arns.get(name_or_arn, name_or_arn)

    def _managed_document(self, arn: str) -> Document | None:
        if arn in self._managed:
            return self._managed[arn]
        document = aws_managed_policy(arn)
        if document is None:
            logger.warning("IAM: managed policy %s is unknown to the local cloud; it grants nothing here", arn)
        return document


def aws_managed_policy(arn: str) -> Document | None:
    """The document of an AWS managed policy (`arn:aws:iam::aws:policy/...`), from moto's copy of them."""
    if not arn.startswith(AWS_MANAGED_PREFIX):
        return None
    policy = _aws_managed_policies().get(arn.rsplit("/", 1)[-1])
    return None if policy is None else dict(policy["Document"])


@cache
def _aws_managed_policies() -> dict[str, Any]:
    policies: dict[str, Any] = json.loads(aws_managed_policies_data)
    return policies


def _partition_key(key_schema: list[dict[str, Any]]) -> str:
    return next((str(k["AttributeName"]) for k in key_schema if k.get("KeyType") == "HASH"), "")
