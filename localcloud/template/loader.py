"""Read template.yaml and turn it into plain CloudFormation with aws-sam-translator, offline.

SAM only accepts S3 locations for code, so local `CodeUri`/`ContentUri` directories are swapped for
placeholder S3 URIs before the transform and read back afterwards (`local_code_dir`); local
`DefinitionUri` files (state machines, OpenAPI) are inlined as `Definition`/`DefinitionBody`, which
is what `sam package` would otherwise upload. The managed-policy map is empty: the translator falls
back to its bundled map, so nothing is fetched from IAM.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import boto3
import yaml

from localcloud.template.cfn_yaml import load_cfn_yaml
from localcloud.template.errors import LocalCloudTemplateError, location_of
from localcloud.template.intrinsics import Resolver

LOCAL_CODE_BUCKET = "localcloud-local-code"
DEFAULT_ACCOUNT_ID = "123456789012"

_LIST_TYPES = ("CommaDelimitedList", "List<")
_STACK_UUID = "00000000-0000-4000-8000-000000000000"
# The translator only asks a session for its region and partition; these keys sign nothing.
_OFFLINE_CREDENTIALS: dict[str, Any] = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


@dataclass(frozen=True)
class Stack:
    """template.yaml after the SAM transform, with its parameters settled; resources are not resolved yet."""

    template_path: Path
    region: str
    account_id: str
    stack_name: str
    parameters: dict[str, Any]  # the Ref value of each parameter (str, or list[str] for list types)
    pseudo_parameters: dict[str, Any]
    resources: dict[str, dict[str, Any]]  # transformed; resources whose Condition is false are left out
    outputs: dict[str, dict[str, Any]]
    mappings: dict[str, Any] = field(default_factory=dict)
    condition_definitions: dict[str, Any] = field(default_factory=dict)

    @property
    def template_dir(self) -> Path:
        return self.template_path.parent

    def new_resolver(self) -> Resolver:
        return Resolver(
            pseudo_parameters=self.pseudo_parameters,
            parameters=self.parameters,
            mappings=self.mappings,
            condition_definitions=self.condition_definitions,
            resource_ids=frozenset(self.resources),
        )


def pseudo_parameters(region: str, account_id: str, stack_name: str) -> dict[str, Any]:
    return {
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::StackName": stack_name,
        "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/{_STACK_UUID}",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::Partition": "aws",
        "AWS::NotificationARNs": [],
    }


def load_stack(
    template_path: Path,
    *,
    region: str = "us-east-1",
    account_id: str = DEFAULT_ACCOUNT_ID,
    stack_name: str = "localcloud",
    parameter_overrides: dict[str, str] | None = None,
) -> Stack:
    """Parse, validate the parameters of, and SAM-transform the template at `template_path`."""
    template_path = template_path.resolve()
    document = read_template(template_path)
    if not isinstance(document.get("Resources"), dict) or not document["Resources"]:
        raise LocalCloudTemplateError("the template declares no resources", location="Resources")

    parameters = settle_parameters(document.get("Parameters") or {}, parameter_overrides or {})
    pseudo = pseudo_parameters(region, account_id, stack_name)
    localized = localize_code_paths(copy.deepcopy(document), template_path.parent)
    transformed = _sam_transform(localized, parameters, pseudo, region) if "Transform" in localized else localized

    stack = Stack(
        template_path=template_path,
        region=region,
        account_id=account_id,
        stack_name=stack_name,
        parameters=parameters,
        pseudo_parameters=pseudo,
        resources={},
        outputs={},
        mappings=transformed.get("Mappings") or {},
        condition_definitions=transformed.get("Conditions") or {},
    )
    resolver = stack.new_resolver()
    resources = _active(transformed.get("Resources") or {}, resolver, "Resources")
    outputs = _active(transformed.get("Outputs") or {}, resolver, "Outputs")
    return Stack(**{**stack.__dict__, "resources": resources, "outputs": outputs})


def read_template(template_path: Path) -> dict[str, Any]:
    """The template as written (short-form tags read as long form), or an error saying why it cannot be read."""
    try:
        return load_cfn_yaml(template_path.read_text())
    except FileNotFoundError:
        raise LocalCloudTemplateError(f"no template at {template_path}") from None
    except (yaml.YAMLError, ValueError) as error:
        raise LocalCloudTemplateError(f"{template_path.name} is not a readable template: {error}") from None


def _active(section: dict[str, Any], resolver: Resolver, name: str) -> dict[str, dict[str, Any]]:
    """The entries whose `Condition` holds (CloudFormation skips the others entirely)."""
    active: dict[str, dict[str, Any]] = {}
    for logical_id, entry in section.items():
        if not isinstance(entry, dict):
            raise LocalCloudTemplateError("must be a mapping", location=location_of(name, logical_id))
        condition = entry.get("Condition")
        if condition is None or resolver.condition(condition, (name, logical_id, "Condition")):
            active[logical_id] = entry
    return active


# ---------------------------------------------------------------------- parameters
def settle_parameters(declared: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    """Each parameter's value (override, else Default) validated as CloudFormation validates it."""
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise LocalCloudTemplateError(f"parameter {unknown[0]!r} is not declared", location="Parameters")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        where = location_of("Parameters", name)
        if not isinstance(spec, dict):
            raise LocalCloudTemplateError("must be a mapping", location=where)
        kind = str(spec.get("Type", "String"))
        if name in overrides:
            raw = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            raise LocalCloudTemplateError("has no Default and no value was given", location=where)
        if kind.startswith("AWS::SSM::Parameter::Value"):
            raise LocalCloudTemplateError(
                f"type {kind} (read from SSM at deploy) is not supported locally", location=where
            )
        values[name] = _validated(kind, spec, raw, where)
    return values


def _validated(kind: str, spec: dict[str, Any], raw: Any, where: str) -> Any:
    if kind.startswith(_LIST_TYPES):
        items = raw if isinstance(raw, list) else [p.strip() for p in str(raw).split(",")] if str(raw) else []
        item_kind = "Number" if kind == "List<Number>" else "String"
        return [_validated_scalar(item_kind, spec, item, where) for item in items]
    return _validated_scalar(kind, spec, raw, where)


def _validated_scalar(kind: str, spec: dict[str, Any], raw: Any, where: str) -> str:
    text = _parameter_text(raw)
    allowed = spec.get("AllowedValues")
    if allowed is not None and text not in [_parameter_text(v) for v in allowed]:
        raise LocalCloudTemplateError(f"value {text!r} is not one of the AllowedValues", location=where)
    if kind == "Number":
        try:
            number = float(text)
        except ValueError:
            raise LocalCloudTemplateError(f"value {text!r} is not a Number", location=where) from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise LocalCloudTemplateError(f"value {text} is below MinValue {spec['MinValue']}", location=where)
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise LocalCloudTemplateError(f"value {text} is above MaxValue {spec['MaxValue']}", location=where)
    else:
        if "MinLength" in spec and len(text) < int(spec["MinLength"]):
            raise LocalCloudTemplateError(f"value is shorter than MinLength {spec['MinLength']}", location=where)
        if "MaxLength" in spec and len(text) > int(spec["MaxLength"]):
            raise LocalCloudTemplateError(f"value is longer than MaxLength {spec['MaxLength']}", location=where)
        pattern = spec.get("AllowedPattern")
        if pattern is not None and re.fullmatch(str(pattern), text) is None:
            raise LocalCloudTemplateError(f"value {text!r} does not match AllowedPattern", location=where)
    return text


def _parameter_text(value: Any) -> str:
    """CloudFormation passes every parameter as text: YAML's 30 is "30", true is "true"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------------- local code and definitions
def local_code_uri(path: Path) -> str:
    return f"s3://{LOCAL_CODE_BUCKET}/{quote(str(path).lstrip('/'))}"


def local_code_dir(location: Any) -> Path | None:
    """The local directory behind a transformed `Code`/`Content` ({S3Bucket, S3Key}), or None if it is not local."""
    if isinstance(location, dict) and location.get("S3Bucket") == LOCAL_CODE_BUCKET:
        return Path("/" + unquote(str(location.get("S3Key", ""))))
    return None


def localize_code_paths(template: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """Swap local code directories for placeholder S3 URIs and inline local definition files."""
    function_globals = (template.get("Globals") or {}).get("Function") or {}
    if isinstance(function_globals.get("CodeUri"), str):
        function_globals["CodeUri"] = _code_uri(
            function_globals["CodeUri"], base_dir, ("Globals", "Function", "CodeUri")
        )
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict):
            continue
        kind = resource.get("Type")
        props = resource.get("Properties")
        if not isinstance(props, dict):
            continue
        where = ("Resources", logical_id, "Properties")
        if kind == "AWS::Serverless::Function":
            _localize_function(props, base_dir, where)
        elif kind == "AWS::Serverless::LayerVersion" and isinstance(props.get("ContentUri"), str):
            props["ContentUri"] = _code_uri(props["ContentUri"], base_dir, (*where, "ContentUri"))
        elif kind == "AWS::Lambda::Function" and isinstance(props.get("Code"), str):
            props["Code"] = _s3_location(props["Code"], base_dir, (*where, "Code"))
        elif kind == "AWS::Lambda::LayerVersion" and isinstance(props.get("Content"), str):
            props["Content"] = _s3_location(props["Content"], base_dir, (*where, "Content"))
        elif kind == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            props["Definition"] = _read_document(props.pop("DefinitionUri"), base_dir, (*where, "DefinitionUri"))
        elif kind == "AWS::StepFunctions::StateMachine" and isinstance(props.get("DefinitionS3Location"), str):
            text = json.dumps(
                _read_document(props.pop("DefinitionS3Location"), base_dir, (*where, "DefinitionS3Location"))
            )
            props["DefinitionString"] = text
        elif kind in ("AWS::Serverless::HttpApi", "AWS::Serverless::Api") and isinstance(
            props.get("DefinitionUri"), str
        ):
            props["DefinitionBody"] = _read_document(props.pop("DefinitionUri"), base_dir, (*where, "DefinitionUri"))
        elif kind == "AWS::Serverless::Application":
            raise LocalCloudTemplateError(
                "nested applications are not supported by the local cloud",
                location=location_of("Resources", logical_id),
            )
    return template


def _localize_function(props: dict[str, Any], base_dir: Path, where: tuple[str, ...]) -> None:
    if props.get("PackageType") == "Image" or "ImageUri" in props:
        raise LocalCloudTemplateError(
            "container image functions are not supported locally", location=location_of(*where)
        )
    if "InlineCode" in props:
        raise LocalCloudTemplateError(
            "InlineCode is not supported locally; use CodeUri", location=location_of(*where, "InlineCode")
        )
    if isinstance(props.get("CodeUri"), str):
        props["CodeUri"] = _code_uri(props["CodeUri"], base_dir, (*where, "CodeUri"))


def _code_uri(value: str, base_dir: Path, where: tuple[str, ...]) -> str:
    if value.startswith("s3://"):
        raise LocalCloudTemplateError(
            "code in S3 cannot run locally; use a local directory", location=location_of(*where)
        )
    return local_code_uri((base_dir / value).resolve())


def _s3_location(value: str, base_dir: Path, where: tuple[str, ...]) -> dict[str, str]:
    uri = _code_uri(value, base_dir, where)
    return {"S3Bucket": LOCAL_CODE_BUCKET, "S3Key": uri.removeprefix(f"s3://{LOCAL_CODE_BUCKET}/")}


def _read_document(value: str, base_dir: Path, where: tuple[str, ...]) -> Any:
    if value.startswith("s3://"):
        raise LocalCloudTemplateError("a definition in S3 cannot be read locally", location=location_of(*where))
    path = (base_dir / value).resolve()
    try:
        text = path.read_text()
    except OSError as error:
        raise LocalCloudTemplateError(f"cannot read {value}: {error.strerror}", location=location_of(*where)) from None
    try:
        return json.loads(text) if path.suffix == ".json" else load_cfn_yaml(text)
    except (ValueError, yaml.YAMLError) as error:
        raise LocalCloudTemplateError(
            f"{value} is not valid JSON/YAML: {error}", location=location_of(*where)
        ) from None


# ---------------------------------------------------------------------- the SAM transform
def _sam_transform(
    template: dict[str, Any], parameters: dict[str, Any], pseudo: dict[str, Any], region: str
) -> dict[str, Any]:
    # Imported here: the translator is heavy, and templates without a Transform never need it.
    from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
    from samtranslator.model.exceptions import InvalidDocumentException, InvalidTemplateException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

    session = boto3.session.Session(region_name=region, **_OFFLINE_CREDENTIALS)
    values = {**parameters, **{k: v for k, v in pseudo.items() if k != "AWS::NotificationARNs"}}
    to_py27_compatible_template(template, values)
    # The translator records usage metrics; published to nowhere, they do not warn when it is collected.
    metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
    try:
        translated = Translator(None, Parser(), boto_session=session, metrics=metrics).translate(
            template, parameter_values=values, get_managed_policy_map=lambda: {}
        )
    except InvalidDocumentException as error:
        causes = "; ".join(str(cause.message) for cause in error.causes)
        raise LocalCloudTemplateError(
            f"the SAM transform failed: {causes}", location=_first_logical_id(error)
        ) from None
    except InvalidTemplateException as error:
        raise LocalCloudTemplateError(f"the SAM transform failed: {error.message}") from None
    finally:
        metrics.publish()
    return dict(undo_mark_unicode_str_in_template(translated))


def _first_logical_id(error: Any) -> str | None:
    for cause in getattr(error, "causes", []):
        logical_id = getattr(cause, "_logical_id", None)
        if isinstance(logical_id, list):
            logical_id = logical_id[0] if logical_id else None
        if logical_id:
            return location_of("Resources", str(logical_id))
    return None
