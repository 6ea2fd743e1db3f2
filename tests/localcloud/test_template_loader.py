"""The template loader: template.yaml, SAM-transformed offline, resolved into the LocalApp the local cloud runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.template import LocalCloudTemplateError, load_app
from tests.localcloud.conftest import ROOT, ThrowawayProject
from tests.support.template import load_template

pytestmark = pytest.mark.localcloud


def _sam_resources(kind: str) -> dict[str, dict]:
    return {k: v for k, v in load_template()["Resources"].items() if v["Type"] == kind}


@pytest.fixture(scope="module")
def real_app():
    return load_app(ROOT / "template.yaml", stack_name="loader-test")


def test_every_function_of_the_real_template_is_found_with_its_code_layers_and_settings(real_app) -> None:
    # Given the functions template.yaml declares (read straight from the YAML, not through the loader)
    declared = _sam_resources("AWS::Serverless::Function")
    globals_ = load_template()["Globals"]["Function"]

    # When the loader reads the template
    functions = real_app.functions

    # Then each one is there, running its CodeUri with the common layer, its timeout and memory
    assert set(functions) == set(declared)
    for logical_id, resource in declared.items():
        fn = functions[logical_id]
        props = resource["Properties"]
        assert fn.code_dir == (ROOT / props["CodeUri"]).resolve()
        assert fn.layer_dirs == ((ROOT / "layers" / "common").resolve(),)
        assert fn.handler == props.get("Handler", globals_["Handler"])
        assert fn.timeout_seconds == props.get("Timeout", globals_["Timeout"])
        assert fn.memory_mb == props.get("MemorySize", globals_["MemorySize"])
        assert fn.name == f"loader-test-{logical_id}"
        assert fn.arn == f"arn:aws:lambda:us-east-1:123456789012:function:loader-test-{logical_id}"


def test_function_environment_resolves_refs_to_resources_and_parameters(real_app) -> None:
    # Given the global environment refers to the table, the user pool, its client and parameters
    health = real_app.functions["HealthFunction"]

    # Then the values are the physical ids and the parameters' defaults, as text
    assert health.environment["TABLE_NAME"] == real_app.physical_ids["CommerceTable"]
    assert health.environment["USER_POOL_ID"] == real_app.physical_ids["UserPool"]
    assert health.environment["USER_POOL_CLIENT_ID"] == real_app.physical_ids["UserPoolClient"]
    assert health.environment["SESSION_TTL_DAYS"] == str(load_template()["Parameters"]["SessionTtlDays"]["Default"])
    assert health.environment["POWERTOOLS_SERVICE_NAME"] == "commerce"


def test_every_http_api_event_of_the_real_template_is_a_route_to_its_function(real_app) -> None:
    # Given every HttpApi event declared on a function (method, path, authorizer)
    expected = set()
    for logical_id, resource in _sam_resources("AWS::Serverless::Function").items():
        for event in (resource["Properties"].get("Events") or {}).values():
            if event["Type"] == "HttpApi":
                props = event["Properties"]
                authorizer = (props.get("Auth") or {}).get("Authorizer")
                if "Path" in props:
                    expected.add((props["Method"].upper(), props["Path"], logical_id, authorizer))
                else:  # no Path and no Method: the API's $default route
                    expected.add(("ANY", "$default", logical_id, authorizer))

    # When the loader builds the HTTP APIs
    (api,) = real_app.http_apis
    routes = {(r.method, r.path, r.function, r.authorizer) for r in api.routes}

    # Then the routes are exactly those events, and the JWT authorizer trusts the local operators' pool and client
    assert routes == expected
    authorizer = api.authorizers["OperatorAuthorizer"]
    pool = real_app.physical_ids["OperatorUserPool"]
    assert authorizer.issuer == f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"
    assert authorizer.audience == (real_app.physical_ids["OperatorUserPoolClient"],)
    assert authorizer.identity_source == "$request.header.Authorization"
    assert api.cors is not None
    assert api.cors["AllowOrigins"] == ["*"]
    assert api.api_id == real_app.physical_ids["HttpApi"]


def test_every_table_of_the_real_template_is_resolved_with_its_declared_properties(real_app) -> None:
    # Given the DynamoDB tables template.yaml declares
    declared = {k: v for k, v in load_template()["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"}

    # Then each is in the app under a physical name, with keys and indexes as declared
    for logical_id, resource in declared.items():
        resolved = real_app.resources[logical_id]["Properties"]
        assert real_app.physical_ids[logical_id] == f"loader-test-{logical_id}"
        assert resolved["KeySchema"] == resource["Properties"]["KeySchema"]
        assert resolved.get("GlobalSecondaryIndexes") == resource["Properties"].get("GlobalSecondaryIndexes")
        assert real_app.attributes[logical_id]["Arn"].endswith(f":table/loader-test-{logical_id}")


def test_ref_getatt_sub_join_select_if_and_pseudo_parameters_resolve(throwaway_project: ThrowawayProject) -> None:
    # Given a template using every intrinsic function, parameters with defaults and a condition
    project = throwaway_project
    project.parameters = {
        "Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]},
        "Retries": {"Type": "Number", "Default": 3, "MinValue": 1},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a,b,c"},
    }
    project.resources["Queue"] = {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}}
    project.function(
        "EchoFunction",
        "def handler(event, context):\n    return event\n",
        environment={
            "QUEUE_URL": {"Ref": "Queue"},
            "QUEUE_ARN": {"Fn::GetAtt": ["Queue", "Arn"]},
            "SUB_SHORT": {"Fn::Sub": "${AWS::StackName}-${Stage}-${AWS::Region}-${AWS::AccountId}"},
            "SUB_LONG": {"Fn::Sub": ["${Name}:${Queue.QueueName}:${!Literal}", {"Name": {"Ref": "Stage"}}]},
            "JOINED": {
                "Fn::Join": ["/", ["x", {"Ref": "Retries"}, {"Ref": "AWS::Partition"}, {"Ref": "AWS::URLSuffix"}]]
            },
            "SECOND_ZONE": {"Fn::Select": [1, {"Ref": "Zones"}]},
            "IS_PROD": {"Fn::If": ["IsProd", "yes", "no"]},
        },
    )
    template = project.write()
    document = template.read_text() + "Conditions:\n  IsProd: {'Fn::Equals': [{Ref: Stage}, prod]}\n"
    template.write_text(document)

    # When it is loaded with one parameter overridden
    app = load_app(template, stack_name="resolve-test", region="eu-west-1", parameter_overrides={"Stage": "prod"})

    # Then every value is resolved as CloudFormation would resolve it
    env = app.functions["EchoFunction"].environment
    assert env["QUEUE_URL"] == "https://sqs.eu-west-1.amazonaws.com/123456789012/resolve-test-Queue"
    assert env["QUEUE_ARN"] == "arn:aws:sqs:eu-west-1:123456789012:resolve-test-Queue"
    assert env["SUB_SHORT"] == "resolve-test-prod-eu-west-1-123456789012"
    assert env["SUB_LONG"] == "prod:resolve-test-Queue:${Literal}"
    assert env["JOINED"] == "x/3/aws/amazonaws.com"
    assert env["SECOND_ZONE"] == "b"
    assert env["IS_PROD"] == "yes"
    assert app.parameters["Retries"] == "3"


def test_a_parameter_override_outside_allowed_values_is_refused_naming_the_parameter(
    throwaway_project: ThrowawayProject,
) -> None:
    # Given a parameter with AllowedValues
    throwaway_project.parameters = {"Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]}}
    throwaway_project.function("Fn", "def handler(event, context):\n    return 1\n")
    template = throwaway_project.write()

    # When it is overridden with another value, Then the error names the parameter
    with pytest.raises(LocalCloudTemplateError) as raised:
        load_app(template, parameter_overrides={"Stage": "qa"})
    assert raised.value.location == "Parameters.Stage"


def test_a_ref_to_nothing_is_an_error_naming_the_resource_and_the_property(throwaway_project: ThrowawayProject) -> None:
    # Given a function whose environment refers to a resource that does not exist
    throwaway_project.function(
        "BrokenFunction", "def handler(event, context):\n    return 1\n", environment={"TABLE": {"Ref": "NoSuchTable"}}
    )

    # When the template is loaded
    with pytest.raises(LocalCloudTemplateError) as raised:
        load_app(throwaway_project.write())

    # Then the error says where: the resource and the property
    assert raised.value.location is not None
    assert raised.value.location.startswith("Resources.BrokenFunction.Properties.Environment.Variables.TABLE")


def test_an_unknown_attribute_is_an_error_naming_the_resource_and_the_property(
    throwaway_project: ThrowawayProject,
) -> None:
    # Given a GetAtt of an attribute a queue does not have
    throwaway_project.resources["Queue"] = {"Type": "AWS::SQS::Queue"}
    throwaway_project.function(
        "Fn", "def handler(event, context):\n    return 1\n", environment={"X": {"Fn::GetAtt": ["Queue", "Colour"]}}
    )

    # When the template is loaded, Then the error names the function's property
    with pytest.raises(LocalCloudTemplateError) as raised:
        load_app(throwaway_project.write())
    assert raised.value.location == "Resources.Fn.Properties.Environment.Variables.X.Fn::GetAtt"


def test_a_runtime_the_local_cloud_cannot_run_is_an_error_naming_the_runtime(
    throwaway_project: ThrowawayProject,
) -> None:
    # Given a Node.js function
    throwaway_project.function("NodeFunction", "", Runtime="nodejs20.x")

    # When the template is loaded, Then the error points at its Runtime
    with pytest.raises(LocalCloudTemplateError) as raised:
        load_app(throwaway_project.write())
    assert raised.value.location == "Resources.NodeFunction.Properties.Runtime"


def test_circular_dependencies_are_an_error_naming_the_resources_in_the_cycle(
    throwaway_project: ThrowawayProject,
) -> None:
    # Given two queues that each name the other as their dead-letter queue, and one that only depends on them
    project = throwaway_project
    project.transform = False

    def queue(other: str) -> dict:
        return {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [other, "Arn"]}, "maxReceiveCount": 3}
            },
        }

    project.resources = {"A": queue("B"), "B": queue("A"), "C": queue("A")}

    # When the template is loaded, Then the cycle is named, without the resource merely waiting on it
    with pytest.raises(LocalCloudTemplateError) as raised:
        load_app(project.write())
    assert raised.value.location == "Resources"
    assert "A, B" in raised.value.reason
    assert "C" not in raised.value.reason


def test_a_sam_error_is_reported_against_the_resource(throwaway_project: ThrowawayProject) -> None:
    # Given a function event of a type SAM does not know
    throwaway_project.function(
        "Fn", "def handler(event, context):\n    return 1\n", events={"Bad": {"Type": "Carrier", "Properties": {}}}
    )

    # When it is transformed, Then the error is the loader's, naming the resource
    with pytest.raises(LocalCloudTemplateError) as raised:
        load_app(throwaway_project.write())
    assert raised.value.location == "Resources.Fn"


def test_a_schedule_the_scheduler_cannot_run_is_an_error_naming_its_expression(
    throwaway_project: ThrowawayProject,
) -> None:
    # Given a schedule whose cron expression sets both day fields (moto takes it; the scheduler cannot run it)
    throwaway_project.function(
        "Fn",
        "def handler(event, context):\n    return 1\n",
        events={"Nightly": {"Type": "Schedule", "Properties": {"Schedule": "cron(0 3 * * * *)"}}},
    )

    # When the template is loaded, Then the error points at the rule's ScheduleExpression and says why
    with pytest.raises(LocalCloudTemplateError) as raised:
        load_app(throwaway_project.write())
    assert raised.value.location == "Resources.FnNightly.Properties.ScheduleExpression"
    assert "day field" in raised.value.reason


def test_throttling_limits_that_are_not_numbers_are_an_error_naming_the_stage_setting(
    throwaway_project: ThrowawayProject,
) -> None:
    # Given an HTTP API whose burst limit comes from a parameter that is not a number
    throwaway_project.parameters["Burst"] = {"Type": "String", "Default": "lots"}
    throwaway_project.resources["Api"] = {
        "Type": "AWS::Serverless::HttpApi",
        "Properties": {"DefaultRouteSettings": {"ThrottlingBurstLimit": {"Ref": "Burst"}}},
    }
    throwaway_project.function(
        "Fn",
        "def handler(event, context):\n    return 1\n",
        events={"Get": {"Type": "HttpApi", "Properties": {"ApiId": {"Ref": "Api"}, "Path": "/x", "Method": "get"}}},
    )

    # When the template is loaded, Then the error names the stage's setting
    with pytest.raises(LocalCloudTemplateError) as raised:
        load_app(throwaway_project.write())
    assert raised.value.location is not None
    assert raised.value.location.endswith(".Properties.DefaultRouteSettings.ThrottlingBurstLimit")


def test_the_real_templates_route_throttles_are_read_with_the_stage_defaults(real_app) -> None:
    # Given template.yaml's HttpApi: DefaultRouteSettings plus RouteSettings for the two flash-sale routes
    params = load_template()["Parameters"]
    # When the loader builds the HTTP API, Then its throttling has both, with the parameters' defaults
    (api,) = real_app.http_apis
    assert api.throttling is not None
    assert str(api.throttling["ThrottlingBurstLimit"]) == str(params["ThrottlingBurstLimit"]["Default"])
    routes = api.throttling["RouteSettings"]
    assert set(routes) == {"POST /sessions", "POST /checkouts"}
    assert str(routes["POST /checkouts"]["ThrottlingRateLimit"]) == str(
        params["CheckoutsThrottlingRateLimit"]["Default"]
    )
    assert str(routes["POST /sessions"]["ThrottlingBurstLimit"]) == str(
        params["SessionsThrottlingBurstLimit"]["Default"]
    )


def _api_with_route_settings(project: ThrowawayProject, route_settings: dict) -> None:
    project.resources["Api"] = {"Type": "AWS::Serverless::HttpApi", "Properties": {"RouteSettings": route_settings}}
    project.function(
        "Fn",
        "def handler(event, context):\n    return 1\n",
        events={"Get": {"Type": "HttpApi", "Properties": {"ApiId": {"Ref": "Api"}, "Path": "/x", "Method": "get"}}},
    )


def test_route_settings_for_a_route_the_api_does_not_have_are_an_error_naming_it(
    throwaway_project: ThrowawayProject,
) -> None:
    # Given RouteSettings for "POST /x" on an API whose only route is "GET /x"
    _api_with_route_settings(throwaway_project, {"POST /x": {"ThrottlingBurstLimit": 1, "ThrottlingRateLimit": 1}})
    # When the template is loaded, Then the error names that route's settings
    with pytest.raises(LocalCloudTemplateError) as raised:
        load_app(throwaway_project.write())
    assert raised.value.location is not None
    assert raised.value.location.endswith(".Properties.RouteSettings.POST /x")
    assert "not a route of this API" in raised.value.reason


def test_route_settings_limits_that_are_not_numbers_are_an_error_naming_the_setting(
    throwaway_project: ThrowawayProject,
) -> None:
    # Given a route's rate limit that is not a number
    _api_with_route_settings(throwaway_project, {"GET /x": {"ThrottlingRateLimit": "fast"}})
    # When the template is loaded, Then the error names that route's setting
    with pytest.raises(LocalCloudTemplateError) as raised:
        load_app(throwaway_project.write())
    assert raised.value.location is not None
    assert raised.value.location.endswith(".Properties.RouteSettings.GET /x.ThrottlingRateLimit")


def test_an_event_source_on_a_queue_outside_the_template_is_an_error_naming_the_mapping(
    throwaway_project: ThrowawayProject,
) -> None:
    # Given a function reading a queue the template does not declare
    throwaway_project.function(
        "Fn",
        "def handler(event, context):\n    return 1\n",
        events={"Jobs": {"Type": "SQS", "Properties": {"Queue": "arn:aws:sqs:us-east-1:123456789012:elsewhere"}}},
    )

    # When the template is loaded, Then the error points at the mapping's EventSourceArn
    with pytest.raises(LocalCloudTemplateError) as raised:
        load_app(throwaway_project.write())
    assert raised.value.location == "Resources.FnJobs.Properties.EventSourceArn"


def test_a_missing_template_is_a_clear_error(tmp_path: Path) -> None:
    # Given a directory without template.yaml, When it is loaded, Then a LocalCloudTemplateError says so
    with pytest.raises(LocalCloudTemplateError):
        load_app(tmp_path / "template.yaml")


def test_schedules_rules_and_queue_sources_come_from_the_functions_events(throwaway_project: ThrowawayProject) -> None:
    # Given a function with an SQS event, a schedule and an EventBridge rule
    project = throwaway_project
    project.resources["Jobs"] = {"Type": "AWS::SQS::Queue"}
    project.function(
        "Worker",
        "def handler(event, context):\n    return {}\n",
        events={
            "FromQueue": {
                "Type": "SQS",
                "Properties": {
                    "Queue": {"Fn::GetAtt": ["Jobs", "Arn"]},
                    "BatchSize": 5,
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    "ScalingConfig": {"MaximumConcurrency": 2},
                },
            },
            "Nightly": {
                "Type": "Schedule",
                "Properties": {"Schedule": "cron(0 3 * * ? *)", "Input": '{"job": "purge"}'},
            },
            "OnOrder": {"Type": "EventBridgeRule", "Properties": {"Pattern": {"detail-type": ["OrderPlaced"]}}},
        },
    )

    # When the template is loaded
    app = load_app(project.write(), stack_name="events-test")

    # Then each event is described for the event sources
    (source,) = app.queue_sources
    assert (source.function, source.batch_size, source.report_batch_item_failures, source.maximum_concurrency) == (
        "Worker",
        5,
        True,
        2,
    )
    assert source.queue_arn == app.attributes["Jobs"]["Arn"]
    assert source.queue_url == app.physical_ids["Jobs"]
    (schedule,) = app.schedules
    assert schedule.expression == "cron(0 3 * * ? *)"
    assert [(t.kind, t.arn, t.input) for t in schedule.targets] == [
        ("lambda", app.functions["Worker"].arn, '{"job": "purge"}')
    ]
    (rule,) = app.rules
    assert rule.pattern == {"detail-type": ["OrderPlaced"]}
    assert rule.event_bus_name == "default"
    assert [t.arn for t in rule.targets] == [app.functions["Worker"].arn]
