"""The operators' alarms as template.yaml declares them: every alarm notifies OperatorAlarmTopic, each alarm the
README lists exists, every function has its errors alarm, the webhook and the saga's steps have reserved
concurrency, and every scheduled function has an on-failure destination."""

from __future__ import annotations

from typing import Any

from tests.support.template import load_template

TOPIC = {"Ref": "OperatorAlarmTopic"}


def resources_of(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in load_template()["Resources"].items() if r["Type"] == kind}


def metrics_of(alarm: dict[str, Any]) -> set[tuple[str, str]]:
    props = alarm["Properties"]
    if "MetricName" in props:
        return {(props["Namespace"], props["MetricName"])}
    return {
        (query["MetricStat"]["Metric"]["Namespace"], query["MetricStat"]["Metric"]["MetricName"])
        for query in props["Metrics"]
        if "MetricStat" in query
    }


def test_every_alarm_notifies_the_operator_topic() -> None:
    alarms = resources_of("AWS::CloudWatch::Alarm")
    assert alarms
    for name, alarm in alarms.items():
        assert TOPIC in alarm["Properties"].get("AlarmActions", []), name


def test_the_topic_mails_the_operator_only_when_an_address_is_given() -> None:
    template = load_template()
    assert template["Parameters"]["OperatorEmail"]["Default"] == ""
    assert template["Conditions"]["HasOperatorEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "OperatorEmail"}, ""]}]}
    subscription = template["Resources"]["OperatorAlarmEmail"]
    assert subscription["Condition"] == "HasOperatorEmail"
    assert subscription["Properties"] == {
        "TopicArn": TOPIC,
        "Protocol": "email",
        "Endpoint": {"Ref": "OperatorEmail"},
    }


def test_every_listed_alarm_exists() -> None:
    watched = set().union(*(metrics_of(a) for a in resources_of("AWS::CloudWatch::Alarm").values()))
    for metric in [
        ("AWS/ApiGateway", "5xx"),
        ("AWS/ApiGateway", "Count"),
        ("AWS/States", "ExecutionsFailed"),
        ("AWS/States", "ExecutionsTimedOut"),
        ("AWS/States", "ExecutionsAborted"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("Commerce", "WebhookSignatureRejected"),
        ("Commerce", "ReconciliationRepairs"),
        ("Commerce", "StockAuditMismatches"),
    ]:
        assert metric in watched, metric


def alarmed_dimensions(metric_name: str) -> list[Any]:
    return [
        dimension["Value"]
        for alarm in resources_of("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == metric_name
        for dimension in alarm["Properties"]["Dimensions"]
    ]


def test_every_function_has_an_errors_alarm() -> None:
    functions = resources_of("AWS::Serverless::Function")
    alarmed = alarmed_dimensions("Errors")
    assert sorted(alarmed, key=str) == sorted(({"Ref": name} for name in functions), key=str)


def test_every_dead_letter_queue_has_a_depth_alarm() -> None:
    template = load_template()["Resources"]
    dead_letter_queues = {
        queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for queue in resources_of("AWS::SQS::Queue").values()
        if "RedrivePolicy" in queue["Properties"]
    }
    dead_letter_queues |= {
        config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        for config in resources_of("AWS::Lambda::EventInvokeConfig").values()
    }
    alarmed = alarmed_dimensions("ApproximateNumberOfMessagesVisible")
    for queue in dead_letter_queues:
        assert template[queue]["Type"] == "AWS::SQS::Queue"
        assert {"Fn::GetAtt": [queue, "QueueName"]} in alarmed, queue


def test_the_webhook_and_the_saga_steps_have_reserved_concurrency_and_a_throttles_alarm() -> None:
    functions = resources_of("AWS::Serverless::Function")
    throttles = alarmed_dimensions("Throttles")
    for name, parameter in [
        ("PaymentWebhookFunction", "PaymentWebhookReservedConcurrency"),
        ("RequestPaymentFunction", "SagaStepReservedConcurrency"),
        ("CompleteCheckoutFunction", "SagaStepReservedConcurrency"),
        ("CompensateCheckoutFunction", "SagaStepReservedConcurrency"),
    ]:
        assert functions[name]["Properties"]["ReservedConcurrentExecutions"] == {"Ref": parameter}
        assert {"Ref": name} in throttles


def test_every_scheduled_function_has_an_on_failure_destination() -> None:
    scheduled = {
        name
        for name, function in resources_of("AWS::Serverless::Function").items()
        if any(e["Type"] in ("Schedule", "ScheduleV2") for e in (function["Properties"].get("Events") or {}).values())
    }
    configured = {
        config["Properties"]["FunctionName"]["Ref"]
        for config in resources_of("AWS::Lambda::EventInvokeConfig").values()
        if config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    }
    assert scheduled
    assert scheduled <= configured
