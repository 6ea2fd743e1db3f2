"""Identities of the resources a static site needs that the local services do not create: CloudFront
distributions (Id, DomainName `d<id>.cloudfront.net`, as AWS shapes them), origin access controls and
S3 bucket policies (not enforced locally, like IAM)."""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any, Protocol

from localcloud.template import Identity
from localcloud.template.identity import Scope, token


class _Context(Protocol):
    @property
    def scope(self) -> Scope: ...


def _id(ctx: _Context, logical_id: str, length: int) -> str:
    return token(f"{ctx.scope.stack_name}:{logical_id}", length, string.ascii_uppercase + string.digits)


def create_distribution(ctx: _Context, logical_id: str, props: dict[str, Any]) -> Identity:
    distribution_id = "E" + _id(ctx, logical_id, 13)
    domain = f"d{token(f'{ctx.scope.stack_name}:{logical_id}', 13)}.cloudfront.net"
    return Identity(distribution_id, {"Id": distribution_id, "DomainName": domain})


def create_origin_access_control(ctx: _Context, logical_id: str, props: dict[str, Any]) -> Identity:
    control_id = "E" + _id(ctx, logical_id, 13)
    return Identity(control_id, {"Id": control_id})


def create_bucket_policy(ctx: _Context, logical_id: str, props: dict[str, Any]) -> Identity:
    return Identity(f"{ctx.scope.stack_name}-{logical_id}")


PROVISIONERS: dict[str, Callable[[Any, str, dict[str, Any]], Identity]] = {
    "AWS::CloudFront::Distribution": create_distribution,
    "AWS::CloudFront::OriginAccessControl": create_origin_access_control,
    "AWS::S3::BucketPolicy": create_bucket_policy,
}
