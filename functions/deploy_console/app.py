"""Custom resource `ConsoleSite`: put the operator console into its bucket at deploy, with its config.json.

The console's files ship with this function: `site` here is a link to console/, which `sam build` and
`make package` copy into the artifact as plain files. config.json tells the pages where the API and Cognito
are (`ApiUrl`, `CognitoEndpoint`, `ClientId`, `Region`, from the resource's properties). The property
`ConsoleChecksum` fingerprints the files (tests/unit/test_console_template.py keeps it in step), so a deploy
that changes the console updates the resource and runs this again. Delete empties the bucket, so that the
stack can delete it.
"""

from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from commerce.adapters.orders_db.custom_resource import CustomResourceRequest, answer_custom_resource
from commerce.adapters.static_site import S3StaticSite
from commerce.observability import logger
from commerce.settings import FunctionSettings, load_settings

SITE_DIR = Path(__file__).resolve().parent / "site"
PHYSICAL_RESOURCE_ID = "console-site"
CONFIG_PROPERTIES = {
    "apiUrl": "ApiUrl",
    "cognitoEndpoint": "CognitoEndpoint",
    "clientId": "ClientId",
    "region": "Region",
}


class Settings(FunctionSettings):
    console_bucket: str = Field(alias="CONSOLE_BUCKET", min_length=3)


def publish(request: CustomResourceRequest) -> dict[str, str]:
    # Settings are read here, not at import: a bad variable must still be answered as FAILED.
    site = S3StaticSite(load_settings(Settings).console_bucket)
    missing = [prop for prop in CONFIG_PROPERTIES.values() if not request.properties.get(prop)]
    if missing:
        raise ValueError(f"ConsoleSite needs the properties {', '.join(missing)}")
    config = {key: str(request.properties[prop]) for key, prop in CONFIG_PROPERTIES.items()}
    files = site.publish(SITE_DIR, config)
    logger.info("console published", extra={"files": files, "bucket": site.bucket})
    return {"Files": str(files)}


def remove(request: CustomResourceRequest) -> dict[str, str]:
    S3StaticSite(load_settings(Settings).console_bucket).remove()
    return {}


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    answer_custom_resource(event, context, publish, PHYSICAL_RESOURCE_ID, on_delete=remove)
