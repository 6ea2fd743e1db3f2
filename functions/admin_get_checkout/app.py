"""GET /admin/checkouts/{checkoutId}: any checkout, with its workflow execution and each step it went through
(Step Functions' DescribeExecution and GetExecutionHistory); `execution` is null until the workflow starts."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.executions import StepFunctionsExecutions
from commerce.api.http import create_app, json_response
from commerce.api.operators import require_operator
from commerce.domain.checkout.executions import checkout_with_execution
from commerce.observability import logger, tracer
from commerce.settings import FunctionSettings, load_settings


class Settings(FunctionSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    checkout_state_machine_arn: str = Field(alias="CHECKOUT_STATE_MACHINE_ARN", pattern=r"^arn:[^:]+:states:")


settings = load_settings(Settings)
checkouts = DynamoDbCheckouts(settings.table_name)
executions = StepFunctionsExecutions(settings.checkout_state_machine_arn)
app = create_app()


@app.get("/admin/checkouts/<checkout_id>")
@tracer.capture_method
def get_any_checkout(checkout_id: str) -> Response[str]:
    require_operator(app)
    return json_response(200, checkout_with_execution(checkouts, executions, checkout_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
