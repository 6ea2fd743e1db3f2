"""Route selection of the local HTTP API: the most specific route wins, as in API Gateway."""

from __future__ import annotations

import pytest

from localcloud.http_api.routing import RouteMatch, RouteTable
from tests.localcloud.http_api_support import client_for, json_body, route

pytestmark = pytest.mark.localcloud

# The precedence example of API Gateway's routing documentation, plus parameterised routes.
TABLE = RouteTable(
    [
        route("GET", "/pets/dog/1", "ExactDog"),
        route("GET", "/pets/dog/{id}", "DogById"),
        route("GET", "/pets/{proxy+}", "PetsGreedy"),
        route("ANY", "/{proxy+}", "AnyGreedy"),
        route("GET", "/products", "ListProducts"),
        route("GET", "/products/{productId}", "GetProduct"),
        route("GET", "/products/featured", "FeaturedProducts"),
        route("ANY", "/cart", "AnyCart"),
        route("POST", "/cart", "PostCart"),
    ]
)


def _matched(table: RouteTable, method: str, path: str) -> RouteMatch:
    match = table.match(method, path)
    assert match is not None, f"{method} {path} matched no route"
    return match


@pytest.mark.parametrize(
    ("method", "path", "function", "route_key"),
    [
        ("GET", "/pets/dog/1", "ExactDog", "GET /pets/dog/1"),
        ("GET", "/pets/dog/2", "DogById", "GET /pets/dog/{id}"),
        ("GET", "/pets/cat/1", "PetsGreedy", "GET /pets/{proxy+}"),
        ("POST", "/pets/dog/1", "AnyGreedy", "ANY /{proxy+}"),
        ("GET", "/products/featured", "FeaturedProducts", "GET /products/featured"),
        ("GET", "/products/p-1", "GetProduct", "GET /products/{productId}"),
        ("GET", "/products", "ListProducts", "GET /products"),
        ("POST", "/cart", "PostCart", "POST /cart"),
        ("DELETE", "/cart", "AnyCart", "ANY /cart"),
    ],
)
def test_the_most_specific_route_wins(method: str, path: str, function: str, route_key: str) -> None:
    # Given the route table above
    # When a request is matched
    match = _matched(TABLE, method, path)
    # Then the most specific route answers, with its route key
    assert (match.route.function, match.route_key) == (function, route_key)


def test_path_parameters_are_url_decoded_and_greedy_ones_keep_slashes() -> None:
    # Given a parameterised and a greedy route
    # When paths with encoded characters are matched
    product = _matched(TABLE, "GET", "/products/caf%C3%A9%20cr%C3%A8me")
    greedy = _matched(TABLE, "GET", "/pets/cat/a%2Fb/c")
    # Then the values are decoded, and the greedy one spans several segments
    assert product.path_parameters == {"productId": "café crème"}
    assert greedy.path_parameters == {"proxy": "cat/a/b/c"}


def test_a_parameter_needs_a_non_empty_segment_and_a_greedy_one_needs_a_tail() -> None:
    # Given routes without a route for "/" and without $default
    table = RouteTable([route("GET", "/products/{productId}", "GetProduct"), route("ANY", "/{proxy+}", "Greedy")])
    # When the bare root and a trailing-slash path are matched
    # Then neither reaches a parameter with an empty value
    assert table.match("GET", "/") is None
    assert _matched(table, "GET", "/products/").route.function == "Greedy"


def test_default_route_catches_what_nothing_else_matches() -> None:
    # Given a table with a $default route
    table = RouteTable([route("GET", "/health", "Health"), route("ANY", "$default", "Fallback")])
    # When an unknown path and a known path with another method are matched
    unknown = _matched(table, "GET", "/nowhere")
    other_method = _matched(table, "DELETE", "/health")
    # Then both reach $default, whose route key is "$default"
    assert (unknown.route.function, unknown.route_key) == ("Fallback", "$default")
    assert other_method.route.function == "Fallback"


def test_a_method_without_a_route_is_not_found() -> None:
    # Given only GET /health and no $default
    client, invoke = client_for(route("GET", "/health", "HealthFunction"))
    # When POST /health and GET /missing are requested
    wrong_method = client.post("/health")
    missing = client.get("/missing")
    # Then API Gateway's 404 comes back without invoking anything
    for response in (wrong_method, missing):
        assert response.status_code == 404
        assert json_body(response) == {"message": "Not Found"}
        assert response.headers["apigw-requestid"]
    assert invoke.calls == []


def test_a_greedy_variable_must_end_the_path() -> None:
    # Given a route whose greedy variable sits in the middle
    # When the table is built
    # Then it is refused, as API Gateway refuses to create it
    with pytest.raises(ValueError, match="greedy"):
        RouteTable([route("GET", "/{proxy+}/tail", "Broken")])


def test_the_openapi_any_method_is_any() -> None:
    # Given a route as SAM's OpenAPI names ANY
    table = RouteTable([route("x-amazon-apigateway-any-method", "/cart", "AnyCart")])
    # When another method reaches it
    match = _matched(table, "PATCH", "/cart")
    # Then it matches, with API Gateway's route key
    assert match.route_key == "ANY /cart"
