"""How the local HTTP API turns a function's result, or its failure, into the HTTP response."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from localcloud.http_api import MAX_REQUEST_BODY_BYTES
from localcloud.lambda_service.runtime import FunctionError, FunctionThrottled
from tests.localcloud.http_api_support import RecordingInvoke, client_for, json_body, route

pytestmark = pytest.mark.localcloud

GET_THING = route("GET", "/thing", "ThingFunction")


def _respond_with(result: Any) -> Any:
    client, _ = client_for(GET_THING, invoke=RecordingInvoke(results={"ThingFunction": result}))
    return client.get("/thing")


def test_a_full_response_maps_status_headers_cookies_and_body() -> None:
    # Given a function returning a payload 2.0 response with cookies
    response = _respond_with(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "Location": "/things/1", "X-Count": 3},
            "cookies": ["session=abc; HttpOnly", "theme=dark; Path=/"],
            "body": json.dumps({"id": "1"}),
        }
    )
    # When it is called
    # Then the status, headers, one Set-Cookie per cookie and the body come back
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.headers["location"] == "/things/1"
    assert response.headers["x-count"] == "3"
    assert response.headers.getlist("set-cookie") == ["session=abc; HttpOnly", "theme=dark; Path=/"]
    assert json_body(response) == {"id": "1"}
    assert response.headers["apigw-requestid"]


def test_a_base64_body_is_decoded() -> None:
    # Given a function returning binary content base64-encoded
    payload = b"\x89PNG\r\n\x1a\n\x00\xff"
    response = _respond_with(
        {
            "statusCode": 200,
            "headers": {"content-type": "image/png"},
            "isBase64Encoded": True,
            "body": base64.b64encode(payload).decode(),
        }
    )
    # When it is called
    # Then the client gets the raw bytes
    assert response.status_code == 200
    assert response.get_data() == payload


@pytest.mark.parametrize("value", [{"message": "hello"}, ["a", 1], "plain string", 42, None])
def test_a_result_without_status_code_is_a_json_200(value: Any) -> None:
    # Given a function returning a JSON value that is not a response object
    response = _respond_with(value)
    # When it is called
    # Then API Gateway infers a 200 with the value as a JSON body
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert json_body(response) == value


def test_a_response_without_body_is_empty() -> None:
    # Given a function answering 204 with no body
    response = _respond_with({"statusCode": 204})
    # When it is called
    # Then the response is empty
    assert response.status_code == 204
    assert response.get_data() == b""


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "not-a-status"},
        {"statusCode": 42},
        {"statusCode": 200, "headers": ["not", "a", "map"]},
        {"statusCode": 200, "headers": {"x-nested": {"a": 1}}},
        {"statusCode": 200, "headers": {"x-split": "a\r\nx-injected: 1"}},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "cookies": "a=1"},
        {"statusCode": 200, "isBase64Encoded": True, "body": "%%% not base64"},
    ],
)
def test_a_malformed_response_is_a_bad_gateway(result: dict[str, Any]) -> None:
    # Given a function returning a response API Gateway cannot map
    response = _respond_with(result)
    # When it is called
    # Then API Gateway answers 502
    assert response.status_code == 502
    assert json_body(response) == {"message": "Internal Server Error"}


def test_a_crashed_function_is_a_bad_gateway() -> None:
    # Given a function that crashes (or times out)
    timed_out = {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 3.00 seconds"}
    response = _respond_with(FunctionError("ThingFunction", timed_out))
    # When it is called
    # Then API Gateway answers 502 with its own body
    assert response.status_code == 502
    assert json_body(response) == {"message": "Internal Server Error"}
    assert response.headers["apigw-requestid"]


def test_a_rejected_invocation_is_an_internal_error() -> None:
    # Given the Lambda service refusing to run the function
    response = _respond_with(FunctionThrottled("ThingFunction"))
    # When it is called
    # Then API Gateway answers 500
    assert response.status_code == 500
    assert json_body(response) == {"message": "Internal Server Error"}


def test_an_unexpected_fault_in_the_runtime_is_an_internal_error() -> None:
    # Given an invoke that fails in a way no Lambda error describes
    response = _respond_with(RuntimeError("worker pipe broke"))
    # When it is called
    # Then the client still gets API Gateway's 500, not a traceback
    assert response.status_code == 500
    assert json_body(response) == {"message": "Internal Server Error"}


def test_a_body_over_ten_megabytes_is_refused_before_the_function() -> None:
    # Given POST /uploads
    client, invoke = client_for(route("POST", "/uploads", "UploadFunction"))
    # When a body one byte over the limit, then one exactly at the limit, is sent
    too_large = client.post("/uploads", data=b"x" * (MAX_REQUEST_BODY_BYTES + 1), content_type="text/plain")
    at_limit = client.post("/uploads", data=b"x" * MAX_REQUEST_BODY_BYTES, content_type="text/plain")
    # Then the first is 413 and never reaches the function; the second does
    assert too_large.status_code == 413
    assert json_body(too_large) == {"message": "Request Entity Too Large"}
    assert at_limit.status_code == 200
    assert invoke.functions == ["UploadFunction"]
    assert len(invoke.last_event["body"]) == MAX_REQUEST_BODY_BYTES


def test_a_head_request_gets_headers_without_a_body() -> None:
    # Given a HEAD route
    client, _ = client_for(route("HEAD", "/thing", "ThingFunction"))
    # When it is called
    response = client.head("/thing")
    # Then the status and length come back without a body
    assert response.status_code == 200
    assert response.get_data() == b""
    assert int(response.headers["content-length"]) > 0
