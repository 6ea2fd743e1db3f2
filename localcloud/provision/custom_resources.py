"""Custom resources (Custom::* / AWS::CloudFormation::CustomResource) backed by a function of the stack.

As CloudFormation does, the function gets a `Create` request with a `ResponseURL` and must PUT its
SUCCESS/FAILED response there; the URL points at the edge, which hands the response back here. This
is how deploy-time work (database migrations behind a custom resource) runs on every local start.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from localcloud.provision.context import ProvisionContext
from localcloud.template import Identity
from localcloud.template.errors import LocalCloudTemplateError, location_of

RESPONSE_PATH = "/__localcloud/cloudformation-responses/"
_WAIT_AFTER_RETURN_SECONDS = 5.0


class ResponseCollector:
    """WSGI endpoint that receives custom resource responses (PUT ResponseURL) and hands them to the waiter."""

    def __init__(self) -> None:
        self._responses: dict[str, dict[str, Any]] = {}
        self._arrived = threading.Condition()

    @staticmethod
    def matches(service: str, environ: dict[str, Any]) -> bool:
        return str(environ.get("PATH_INFO", "")).startswith(RESPONSE_PATH)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request_id = str(environ["PATH_INFO"])[len(RESPONSE_PATH) :]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
        except ValueError:
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"the response must be JSON"]
        with self._arrived:
            self._responses[request_id] = body if isinstance(body, dict) else {}
            self._arrived.notify_all()
        start_response("200 OK", [("Content-Length", "0")])
        return []

    def wait(self, request_id: str, timeout: float) -> dict[str, Any] | None:
        with self._arrived:
            self._arrived.wait_for(lambda: request_id in self._responses, timeout=timeout)
            return self._responses.pop(request_id, None)


def _collector(ctx: ProvisionContext, where: str) -> ResponseCollector:
    """One collector per provisioning run, registered on the edge when the first custom resource needs it."""
    if ctx.register_interceptor is None:
        raise LocalCloudTemplateError("custom resources need the edge to receive their responses", location=where)
    collector = ctx.shared.get("custom-resource-responses")
    if not isinstance(collector, ResponseCollector):
        collector = ResponseCollector()
        ctx.shared["custom-resource-responses"] = collector
        ctx.register_interceptor(ResponseCollector.matches, collector)
    return collector


def create_custom_resource(
    ctx: ProvisionContext, logical_id: str, props: dict[str, Any], resource_type: str
) -> Identity:
    where = location_of("Resources", logical_id)
    if ctx.invoke is None:
        raise LocalCloudTemplateError("custom resources need the Lambda runtime", location=where)
    token = str(props.get("ServiceToken", ""))
    if ":lambda:" not in token:
        raise LocalCloudTemplateError(
            "only Lambda-backed custom resources run locally",
            location=location_of("Resources", logical_id, "Properties", "ServiceToken"),
        )
    collector = _collector(ctx, where)
    request_id = str(uuid.uuid4())
    event = {
        "RequestType": "Create",
        "ServiceToken": token,
        "ResponseURL": f"{ctx.endpoint_url}{RESPONSE_PATH}{request_id}",
        "StackId": ctx.stack.pseudo_parameters["AWS::StackId"],
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": props,
    }
    failure: Exception | None = None
    try:
        ctx.invoke(token, event)
    except Exception as error:
        failure = error
    response = collector.wait(request_id, _WAIT_AFTER_RETURN_SECONDS)
    if response is None:
        reason = f"the function failed: {failure}" if failure else "the function returned without sending a response"
        raise LocalCloudTemplateError(f"custom resource got no response ({reason})", location=where)
    if response.get("Status") != "SUCCESS":
        raise LocalCloudTemplateError(
            f"custom resource failed: {response.get('Reason', 'no reason given')}", location=where
        )
    data = response.get("Data") or {}
    return Identity(str(response.get("PhysicalResourceId") or ctx.name(logical_id, 128)), dict(data))
