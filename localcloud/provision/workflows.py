"""Step Functions state machines: the definition (inline or from DefinitionUri) with its substitutions applied."""

from __future__ import annotations

import json
import re
from typing import Any

from localcloud.provision.context import ProvisionContext, where_of
from localcloud.template import Identity
from localcloud.template.errors import LocalCloudTemplateError, location_of

_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def substitute_definition(definition: str, substitutions: dict[str, Any], where: tuple[str | int, ...]) -> str:
    """Replace `${Name}` as CloudFormation does; a placeholder left without a value is an error."""

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in substitutions:
            raise LocalCloudTemplateError(
                f"the definition uses ${{{name}}}, which DefinitionSubstitutions does not set",
                location=location_of(*where),
            )
        value = substitutions[name]
        return ("true" if value else "false") if isinstance(value, bool) else str(value)

    return _PLACEHOLDER.sub(value_of, definition)


def create_state_machine(ctx: ProvisionContext, logical_id: str, props: dict[str, Any]) -> Identity:
    client = ctx.client("stepfunctions")
    where = where_of(logical_id)
    if "DefinitionString" in props:
        definition = str(props["DefinitionString"])
    elif "Definition" in props:
        definition = json.dumps(props["Definition"])
    else:
        raise LocalCloudTemplateError(
            "a state machine needs a Definition or DefinitionUri", location=location_of(*where)
        )
    definition = substitute_definition(
        definition, props.get("DefinitionSubstitutions") or {}, (*where, "DefinitionSubstitutions")
    )
    try:
        json.loads(definition)
    except ValueError as error:
        raise LocalCloudTemplateError(
            f"the definition is not valid JSON: {error}", location=location_of(*where, "Definition")
        ) from None

    name = str(props.get("StateMachineName") or ctx.name(logical_id, 80))
    params: dict[str, Any] = {
        "name": name,
        "definition": definition,
        "roleArn": str(props.get("RoleArn") or ctx.scope.arn("iam", f"role/{name}-role", region=False)),
        "type": str(props.get("StateMachineType", "STANDARD")),
    }
    logging = props.get("LoggingConfiguration")
    if logging:
        params["loggingConfiguration"] = {
            "level": logging.get("Level", "OFF"),
            "includeExecutionData": str(logging.get("IncludeExecutionData", False)).lower() == "true",
            "destinations": [
                {"cloudWatchLogsLogGroup": {"logGroupArn": d["CloudWatchLogsLogGroup"]["LogGroupArn"]}}
                for d in logging.get("Destinations") or []
                if "CloudWatchLogsLogGroup" in d
            ],
        }
    tracing = props.get("TracingConfiguration")
    if tracing:
        params["tracingConfiguration"] = {"enabled": str(tracing.get("Enabled", False)).lower() == "true"}
    arn = client.create_state_machine(**params)["stateMachineArn"]
    return Identity(arn, {"Arn": arn, "Name": name, "StateMachineRevisionId": arn})
