"""GET /admin/upkeep: each scheduled upkeep job with its last runs (when, examined, repaired by kind, failed);
query `runs` (1-100, default 10) runs per job."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from commerce.adapters.dynamodb.upkeep_runs import DynamoDbUpkeepRuns
from commerce.api.http import create_app, json_response
from commerce.api.operators import require_operator
from commerce.api.pagination import parse_query
from commerce.observability import logger, tracer
from commerce.settings import FunctionSettings, load_settings


class Settings(FunctionSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)


class UpkeepQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    runs: int = Field(10, ge=1, le=100)


settings = load_settings(Settings)
upkeep_runs = DynamoDbUpkeepRuns(settings.table_name)
app = create_app()


@app.get("/admin/upkeep")
@tracer.capture_method
def recent_upkeep() -> Response[str]:
    require_operator(app)
    query = parse_query(app, UpkeepQuery)
    return json_response(200, {"jobs": [job.to_json() for job in upkeep_runs.recent(query.runs)]})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
