"""Cognito user pools, app clients, groups, domains and users: the local identity provider."""

from __future__ import annotations

from typing import Any

from localcloud.provision.context import ProvisionContext, api_params, where_of
from localcloud.template import Identity
from localcloud.template.identity import user_pool_identity


def create_user_pool(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("cognito-idp")
    declared = {**props, "PoolName": props.get("UserPoolName") or ctx.name(logical_id, 128)}
    params = api_params(client, "CreateUserPool", declared, where=where_of(logical_id))
    pool_id = client.create_user_pool(**params)["UserPool"]["Id"]
    _set_mfa(client, pool_id, props)
    return user_pool_identity(ctx.scope, pool_id)


def _set_mfa(client: Any, pool_id: str, props: dict[str, Any]) -> None:
    """CloudFormation's `EnabledMfas` has no CreateUserPool member: the API sets it with SetUserPoolMfaConfig.

    Without this a pool declaring `MfaConfiguration: "ON"` and `EnabledMfas: [SOFTWARE_TOKEN_MFA]` would come up
    with TOTP disabled, and Cognito (moto) would then never ask its users for a code.
    """
    enabled = {str(kind) for kind in props.get("EnabledMfas") or []}
    mode = str(props.get("MfaConfiguration") or "OFF")
    if "SOFTWARE_TOKEN_MFA" not in enabled or mode == "OFF":
        return
    client.set_user_pool_mfa_config(
        UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration=mode
    )


def create_user_pool_client(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("cognito-idp")
    declared = {**props, "ClientName": props.get("ClientName") or logical_id}
    created = client.create_user_pool_client(
        **api_params(client, "CreateUserPoolClient", declared, where=where_of(logical_id))
    )
    app_client = created["UserPoolClient"]
    attributes = {"ClientId": app_client["ClientId"], "Name": app_client["ClientName"]}
    if app_client.get("ClientSecret"):
        attributes["ClientSecret"] = app_client["ClientSecret"]
    return Identity(app_client["ClientId"], attributes)


def create_group(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("cognito-idp")
    declared = {**props, "GroupName": props.get("GroupName") or ctx.name(logical_id, 128)}
    group = client.create_group(**api_params(client, "CreateGroup", declared, where=where_of(logical_id)))["Group"]
    return Identity(group["GroupName"])


def create_domain(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("cognito-idp")
    client.create_user_pool_domain(**api_params(client, "CreateUserPoolDomain", props, where=where_of(logical_id)))
    return Identity(str(props["Domain"]), {"CloudFrontDistribution": f"{props['Domain']}.cloudfront.net"})


def create_resource_server(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("cognito-idp")
    client.create_resource_server(**api_params(client, "CreateResourceServer", props, where=where_of(logical_id)))
    return Identity(str(props["Identifier"]))


def create_user(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("cognito-idp")
    declared = {**props, "Username": props.get("Username") or ctx.name(logical_id, 128)}
    user = client.admin_create_user(**api_params(client, "AdminCreateUser", declared, where=where_of(logical_id)))[
        "User"
    ]
    return Identity(user["Username"])


def add_user_to_group(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("cognito-idp")
    client.admin_add_user_to_group(**api_params(client, "AdminAddUserToGroup", props, where=where_of(logical_id)))
    return ctx.identity(logical_id, "AWS::Cognito::UserPoolUserToGroupAttachment", props)
