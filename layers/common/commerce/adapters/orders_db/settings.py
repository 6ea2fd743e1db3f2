"""Where the orders database is: the variables template.yaml gives every function that reaches it."""

from __future__ import annotations

from pydantic import Field

from commerce.settings import FunctionSettings


class OrdersDbSettings(FunctionSettings):
    # The ARNs are checked by the Data API itself (a wrong one is a clear BadRequest/Forbidden there).
    orders_db_cluster_arn: str = Field(alias="ORDERS_DB_CLUSTER_ARN", min_length=3)
    orders_db_secret_arn: str = Field(alias="ORDERS_DB_SECRET_ARN", min_length=3)
    orders_db_name: str = Field(alias="ORDERS_DB_NAME", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
