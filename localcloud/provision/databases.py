"""Aurora clusters: nothing to create (the orders database component serves the Data API for them),
except the master user secret RDS keeps in Secrets Manager when `ManageMasterUserPassword` is true.
"""

from __future__ import annotations

import json
from typing import Any

from localcloud.provision.context import ProvisionContext
from localcloud.template import Identity


def create_db_cluster(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    identity = ctx.identity(logical_id, "AWS::RDS::DBCluster", props)
    if str(props.get("ManageMasterUserPassword", False)).lower() != "true":
        return identity
    client = ctx.client("secretsmanager")
    password = client.get_random_password(PasswordLength=32, ExcludePunctuation=True)["RandomPassword"]
    secret = client.create_secret(
        # RDS names the secrets it manages rds!cluster-<cluster resource id>.
        Name=f"rds!{str(identity.attributes['DBClusterResourceId']).lower()}",
        Description=f"Master user secret of the local cluster {identity.ref}",
        SecretString=json.dumps({"username": str(props.get("MasterUsername", "postgres")), "password": password}),
    )
    return Identity(identity.ref, {**identity.attributes, "MasterUserSecret.SecretArn": secret["ARN"]})
