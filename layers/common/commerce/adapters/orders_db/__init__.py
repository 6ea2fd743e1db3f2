"""The orders database (Aurora Serverless v2 PostgreSQL) through the RDS Data API.

- `data_api`: one cluster + secret + database behind boto3's `rds-data` client: typed parameters,
  typed results, transactions, and the resume-retry of an auto-paused cluster within the time budget.
- `parameters` / `results`: Python values to `SqlParameter`s (with `typeHint`) and `Field`s back.
- `errors`: Data API errors translated at this boundary.
- `orders`: the `OrderRepository` of `commerce.domain.orders` over the Data API.
- `sql_script`, `migrations`: versioned SQL migrations (db/migrations), applied through the Data API.
- `custom_resource`: the CloudFormation custom-resource protocol of the migration function.
"""
