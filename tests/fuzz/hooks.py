"""The contract checks schemathesis does not have, loaded by `schemathesis run` (tests/fuzz/schemathesis.toml).

API.md: every error is RFC 9457 problem+json whose `status` is the response's and whose `code` is a stable
UPPER_SNAKE identifier, and every response carries `X-Request-Id`. The one exception is API Gateway's JWT
authorizer, which answers 401 with its own `{"message":"Unauthorized"}` (and `apigw-requestid`) before any
function runs.

`schema_valid_data_is_accepted` is schemathesis' `positive_data_acceptance` that also knows the few rules of
API.md that JSON Schema cannot state, each by the field problem the API answers, so that any other 400 for data
openapi.yaml allows still fails:
- a cursor is opaque and signed: only a `nextCursor` the API wrote is valid (`cursor`, `INVALID_CURSOR`);
- a currency or a country must be an assigned ISO code, which a pattern cannot list (`...currency`/`...country`);
- `createdFrom` must be before `createdTo` (two fields together: the problem names no single field);
- a JSON number with a fraction part of zero (`2.0`) is an integer to JSON Schema, and a wrong type to API.md;
- a webhook must be signed by the provider, and the fuzzer cannot sign (`BAD_SIGNATURE`).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

PROBLEM = "application/problem+json"
CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
AUTHORIZER_BODY = {"message": "Unauthorized"}


def _header(response: Any, name: str) -> str:
    values = response.headers.get(name.lower()) or []
    return str(values[0]) if values else ""


@schemathesis.check
def every_error_is_a_problem(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx or 5xx is problem+json with the response's status, a title and an UPPER_SNAKE code."""
    if response.status_code < 400:
        return None
    content_type = _header(response, "content-type")
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} is not JSON: {response.content[:200]!r}") from None
    if response.status_code == 401 and body == AUTHORIZER_BODY and _header(response, "apigw-requestid"):
        return True
    if not content_type.startswith(PROBLEM):
        raise AssertionError(f"{response.status_code} is {content_type!r}, not {PROBLEM}: {body}")
    if not isinstance(body, dict) or body.get("status") != response.status_code:
        raise AssertionError(f"the problem's status is not the response's {response.status_code}: {body}")
    if not body.get("title") or not CODE.match(str(body.get("code"))):
        raise AssertionError(f"the problem has no title or no UPPER_SNAKE code: {body}")
    return True


@schemathesis.check
def every_response_has_a_request_id(ctx: Any, response: Any, case: Any) -> bool | None:
    """A function's answer carries X-Request-Id; API Gateway's own carries apigw-requestid."""
    if not (_header(response, "x-request-id") or _header(response, "apigw-requestid")):
        raise AssertionError(f"{response.status_code} carries no X-Request-Id")
    return True


@schemathesis.check
def schema_valid_data_is_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """Data openapi.yaml allows is accepted, unless refused by a rule JSON Schema cannot state (module docstring)."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code == 400 and _refused_beyond_json_schema(case, response):
            return True
        raise


def _refused_beyond_json_schema(case: Any, response: Any) -> bool:
    try:
        problem = json.loads(response.content)
    except ValueError:
        return False
    if problem.get("code") == "BAD_SIGNATURE":
        return bool(case.operation.path == "/webhooks/payments/stripe")
    problems = problem.get("errors") or []
    return bool(problems) and all(_beyond_json_schema(case, p.get("field", ""), p.get("code", "")) for p in problems)


def _beyond_json_schema(case: Any, field: str, code: str) -> bool:
    query = case.query or {}
    if (field, code) == ("cursor", "INVALID_CURSOR"):
        return True
    if field.rsplit(".", 1)[-1] in ("currency", "country") and code == "VALUE_ERROR":
        return True
    if field == "" and code == "VALUE_ERROR" and {"createdFrom", "createdTo"} <= set(query):
        try:
            return _instant(query["createdFrom"]) >= _instant(query["createdTo"])
        except (TypeError, ValueError):
            return False
    if code == "INT_TYPE":
        value = _at(case.body, field)
        return isinstance(value, float) and value.is_integer()
    return False


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))


def _at(document: Any, field: str) -> Any:
    """The value at a problem's `field` path (`lines[0].quantity`) in the request body, or None."""
    for part in re.findall(r"[^.\[\]]+", field):
        if isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        elif isinstance(document, dict) and part in document:
            document = document[part]
        else:
            return None
    return document
