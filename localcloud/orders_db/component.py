"""The orders database room's component: PostgreSQL (embedded, data under <state_dir>/postgres, or
LOCALCLOUD_POSTGRES_URL) behind the local RDS Data API on the edge. A service: it starts before
provisioning, so the stack's migration custom resource runs against it.

Its database is the one the template's Aurora cluster declares (`DatabaseName` of the first
`AWS::RDS::DBCluster`, a literal or a `Ref` to a parameter, overridden or not), else `DEFAULT_DATABASE`.
"""

from __future__ import annotations

from typing import Any

from localcloud.context import CloudContext
from localcloud.orders_db.data_api import DataApiApp, is_data_api
from localcloud.orders_db.postgres import DEFAULT_DATABASE, EmbeddedPostgres, ExternalPostgres, orders_database


class OrdersDatabaseService:
    def __init__(self) -> None:
        self._database: EmbeddedPostgres | ExternalPostgres | None = None
        self._data_api: DataApiApp | None = None

    def start(self, cloud: CloudContext) -> None:
        name = declared_database(cloud.template, cloud.parameter_overrides)
        self._database = orders_database(cloud.state_dir / "postgres", database=name)
        conninfo = self._database.start()
        self._data_api = DataApiApp(conninfo, database=name)
        cloud.edge.intercept(is_data_api, self._data_api)

    def stop(self) -> None:
        if self._data_api is not None:
            self._data_api.close()
        if self._database is not None:
            self._database.stop()


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
