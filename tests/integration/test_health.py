"""GET /health answers 200 with a request id; an unknown route gets problem+json."""

from tests.support.handlers import load_handler
from tests.support.lambda_events import FakeLambdaContext, http_event, response_json


def test_health_answers_ok_with_request_id() -> None:
    # Given the sample event, When the handler runs
    event = http_event("health")
    response = load_handler("health")(event, FakeLambdaContext())
    # Then it answers 200 {"status": "ok"} and echoes the request id
    assert response["statusCode"] == 200
    assert response_json(response) == {"status": "ok"}
    assert response["headers"]["X-Request-Id"] == event["requestContext"]["requestId"]


def test_unknown_route_is_problem_json() -> None:
    event = http_event("health")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/nope"
    response = load_handler("health")(event, FakeLambdaContext())
    assert response["statusCode"] == 404
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert response_json(response)["code"] == "NOT_FOUND"
