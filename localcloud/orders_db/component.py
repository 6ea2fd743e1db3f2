"""The orders database room's component: PostgreSQL (embedded, data under <state_dir>/postgres, or
LOCALCLOUD_POSTGRES_URL) behind the local RDS Data API on the edge. A service: it starts before
provisioning, so the stack's migration custom resource runs against it.

Its database is the one the template's Aurora cluster declares (`DatabaseName` of the first
`AWS::RDS::DBCluster`, a literal or a `Ref` to a parameter, overridden or not), else `DEFAULT_DATABASE`.

Each Data API call runs as the user its secret names, read from the local Secrets Manager at each call (a
rotated password counts at once): the cluster's `MasterUsername` is the server's own user, any other user
logs in with the secret's username and password (the stack's migrations create such roles and set their
passwords; PostgreSQL checks them), so what PostgreSQL refuses that user, the Data API refuses too.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from localcloud.context import CloudContext
from localcloud.orders_db.connections import Login
from localcloud.orders_db.data_api import DataApiApp, is_data_api
from localcloud.orders_db.errors import SecretsErrorException
from localcloud.orders_db.postgres import DEFAULT_DATABASE, EmbeddedPostgres, ExternalPostgres, orders_database


class OrdersDatabaseService:
    def __init__(self) -> None:
        self._database: EmbeddedPostgres | ExternalPostgres | None = None
        self._data_api: DataApiApp | None = None

    def start(self, cloud: CloudContext) -> None:
        name = declared_database(cloud.template, cloud.parameter_overrides)
        self._database = orders_database(cloud.state_dir / "postgres", database=name)
        conninfo = self._database.start()
        self._data_api = DataApiApp(
            conninfo, database=name, logins=SecretLogins(cloud.client, declared_master_user(cloud.template))
        )
        cloud.edge.intercept(is_data_api, self._data_api)

    def stop(self) -> None:
        if self._data_api is not None:
            self._data_api.close()
        if self._database is not None:
            self._database.stop()


class SecretLogins:
    """The database user a Data API secret names: None for the cluster's master user, else its `Login`."""

    def __init__(self, client: Callable[[str], Any], master_user: str) -> None:
        self._make_client = client
        self._client: Any = None
        self._master_user = master_user
        self._lock = threading.Lock()

    def __call__(self, secret_arn: str) -> Login | None:
        with self._lock:
            if self._client is None:
                self._client = self._make_client("secretsmanager")
            client = self._client
        try:
            value = client.get_secret_value(SecretId=secret_arn)
        except client.exceptions.ResourceNotFoundException:
            raise SecretsErrorException(f"The secret {secret_arn} wasn't found") from None
        return login_of(secret_arn, value.get("SecretString"), self._master_user)


def login_of(secret_arn: str, secret_string: Any, master_user: str) -> Login | None:
    """A Data API secret holds a JSON object with `username` and `password`, as the service requires."""
    try:
        document = json.loads(secret_string) if isinstance(secret_string, str) else None
    except ValueError:
        document = None
    username = document.get("username") if isinstance(document, dict) else None
    password = document.get("password") if isinstance(document, dict) else None
    if not isinstance(username, str) or not username or not isinstance(password, str):
        raise SecretsErrorException(f"The secret {secret_arn} has no username and password")
    return None if username == master_user else Login(username, password)


def declared_master_user(template: dict[str, Any]) -> str:
    """The `MasterUsername` of the template's first Aurora cluster (RDS's default, postgres, if none)."""
    for resource in (template.get("Resources") or {}).values():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::RDS::DBCluster":
            name = (resource.get("Properties") or {}).get("MasterUsername")
            return name if isinstance(name, str) and name else "postgres"
    return "postgres"


def declared_database(template: dict[str, Any], parameter_overrides: dict[str, str]) -> str:
    """The database name of the template's first Aurora cluster, with its parameter resolved."""
    parameters = template.get("Parameters") or {}
    for resource in (template.get("Resources") or {}).values():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::RDS::DBCluster":
            continue
        name = (resource.get("Properties") or {}).get("DatabaseName")
        if isinstance(name, dict) and set(name) == {"Ref"} and name["Ref"] in parameters:
            parameter = name["Ref"]
            name = parameter_overrides.get(parameter, (parameters[parameter] or {}).get("Default"))
        if isinstance(name, str) and name:
            return name
    return DEFAULT_DATABASE
