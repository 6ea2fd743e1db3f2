"""The security fixes of issue 13 over HTTP: unknown routes, forged cursors, nesting bombs, unsigned webhooks."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from commerce.api.pagination import CursorKeyring, CursorKeys, encode_cursor
from commerce.domain.catalog.schemas import ProductFilters
from tests.e2e.conftest import Api

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


def problem_of(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    return dict(body)


@pytest.mark.parametrize("path", ["/nope", "/products/x/y", "/admin", "/"])
def test_paths_no_route_serves_are_404_problems(api: Api, path: str) -> None:
    # Given / When a path no route serves is called with any method / Then 404 NOT_FOUND as problem+json
    for method in ("GET", "POST", "DELETE"):
        problem_of(api.call(method, path), 404, "NOT_FOUND")


def test_a_known_path_with_another_method_is_a_405_problem_with_allow(api: Api) -> None:
    # Given / When DELETE /products (only GET is served there) / Then 405 METHOD_NOT_ALLOWED, Allow: GET
    response = api.call("DELETE", "/products")
    problem_of(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["Allow"] == "GET"


def test_a_cursor_signed_without_the_key_is_a_400_and_real_cursors_page(api: Api) -> None:
    # Given two products, so that a page of one has a next cursor
    api.create_product(on_hand=1)
    api.create_product(on_hand=1)
    first = api.call("GET", "/products", params={"limit": 1})
    assert first.status_code == 200
    cursor = first.json()["nextCursor"]
    assert cursor
    # When the next cursor is followed, Then the next page comes
    assert api.call("GET", "/products", params={"limit": 1, "cursor": cursor}).status_code == 200
    # When a cursor around a nesting bomb is MACed as the server does but with a guessed key, Then 400 on `cursor`
    guessed = CursorKeyring(lambda: CursorKeys(b"guessed"))
    forged = encode_cursor({"n": "[" * 1000, "id": "x"}, ProductFilters().cursor_scope(), guessed)
    problem = problem_of(api.call("GET", "/products", params={"cursor": forged}), 400, "VALIDATION_ERROR")
    assert [e["field"] for e in problem["errors"]] == ["cursor"]


def test_nesting_bombs_are_400s_never_500s(api: Api) -> None:
    # Given a body of 50,000 `[`
    bomb = "[" * 50_000
    # When it is posted unsigned to the webhook, Then 400 BAD_SIGNATURE
    problem_of(api.call("POST", "/webhooks/payments/stripe", data=bomb), 400, "BAD_SIGNATURE")
    # When it is a cart line body, Then 400 VALIDATION_ERROR
    headers = {"X-Session-Token": api.new_session(), "Content-Type": "application/json"}
    problem_of(api.call("POST", "/cart/lines", data=bomb, headers=headers), 400, "VALIDATION_ERROR")


def test_a_deleted_session_token_never_works_again(api: Api) -> None:
    # Given a session whose cart answers
    headers = {"X-Session-Token": api.new_session()}
    assert api.call("GET", "/cart", headers=headers).status_code == 200
    # When it is deleted, Then 204, and the token is 401 UNAUTHENTICATED from then on
    assert api.call("DELETE", "/sessions/current", headers=headers).status_code == 204
    problem_of(api.call("GET", "/cart", headers=headers), 401, "UNAUTHENTICATED")
    problem_of(api.call("DELETE", "/sessions/current", headers=headers), 401, "UNAUTHENTICATED")
