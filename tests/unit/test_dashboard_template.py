"""template.yaml's operations dashboard: its body is valid JSON once substituted, and it shows the figures the
operator console shows (checkouts by outcome, latency, queue depth, executions, Lambda errors and throttles,
DynamoDB throttles), each on this stack's own resources."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.support.template import resource


def dashboard() -> dict[str, Any]:
    template, variables = resource("OperationsDashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    names = set(re.findall(r"\$\{([^}!]+)\}", template))
    resources = {"AWS::Region", "AWS::StackName", "HttpApi", "CheckoutStateMachine", "CommerceTable"}
    assert names - set(variables) <= resources
    body = re.sub(r"\$\{([^}!]+)\}", lambda m: f"<{m.group(1)}>", template)
    return dict(json.loads(body))


def test_the_dashboard_shows_every_figure_of_a_sale() -> None:
    titles = {widget["properties"]["title"] for widget in dashboard()["widgets"]}
    assert titles == {
        "Checkouts by outcome",
        "API latency and errors",
        "Admission queue",
        "Checkout workflow executions",
        "DynamoDB throttles",
        "Lambda errors by function",
        "Lambda throttles by function",
    }


def test_each_widget_names_this_stacks_resources() -> None:
    text = json.dumps(dashboard())
    for name in ("<HttpApi>", "<CheckoutQueueName>", "<CheckoutDeadLetterQueueName>", "<CheckoutStateMachine>"):
        assert name in text
    assert text.count("<AWS::StackName>") == 2  # the Lambda searches are scoped to the stack's functions
