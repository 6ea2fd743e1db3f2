"""The migration custom resource always answers CloudFormation: success, failure, delete, unknown type, timeout."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from commerce.adapters.orders_db.custom_resource import (
    FAILED,
    SUCCESS,
    CustomResourceRequest,
    answer_custom_resource,
)


@dataclass
class Context:
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Recorder:
    """Stands in for the presigned URL: records each answer."""

    answers: list[dict[str, Any]] = field(default_factory=list)
    failures_before_success: int = 0

    def __call__(self, url: str, body: bytes) -> None:
        if self.failures_before_success:
            self.failures_before_success -= 1
            raise OSError("connection reset")
        self.answers.append({"url": url, **json.loads(body)})


def event(request_type: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/presigned",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/commerce/1",
        "RequestId": "req-1",
        "LogicalResourceId": "OrdersDbSchema",
        "ResourceType": "AWS::CloudFormation::CustomResource",
        "ResourceProperties": {"ServiceToken": "arn", "MigrationsChecksum": "abc"},
        **extra,
    }


def test_create_runs_the_work_and_answers_success_with_its_data() -> None:
    # Given a Create request
    put, calls = Recorder(), []

    def work(request: CustomResourceRequest) -> dict[str, str]:
        calls.append(request.properties["MigrationsChecksum"])
        return {"Applied": "0001"}

    # When it is handled
    status = answer_custom_resource(event("Create"), Context(), work, "orders-db-schema", put=put)
    # Then the work ran once and CloudFormation got exactly one SUCCESS answer, echoing its ids
    assert status == SUCCESS
    assert calls == ["abc"]
    [answer] = put.answers
    assert answer["Status"] == SUCCESS
    assert answer["Data"] == {"Applied": "0001"}
    assert answer["PhysicalResourceId"] == "orders-db-schema"
    assert (answer["StackId"], answer["RequestId"], answer["LogicalResourceId"]) == (
        "arn:aws:cloudformation:us-east-1:123456789012:stack/commerce/1",
        "req-1",
        "OrdersDbSchema",
    )


def test_update_keeps_the_physical_id_cloudformation_knows() -> None:
    put = Recorder()
    answer_custom_resource(
        event("Update", PhysicalResourceId="existing-id"), Context(), lambda r: {}, "orders-db-schema", put=put
    )
    assert put.answers[0]["PhysicalResourceId"] == "existing-id"


def test_delete_does_nothing_and_succeeds() -> None:
    put = Recorder()
    status = answer_custom_resource(
        event("Delete", PhysicalResourceId="orders-db-schema"),
        Context(),
        lambda r: pytest.fail("Delete must not migrate"),
        "x",
        put=put,
    )
    assert status == SUCCESS
    assert [a["Status"] for a in put.answers] == [SUCCESS]


@pytest.mark.parametrize("request_type", ["Create", "Bogus"])
def test_a_failure_is_answered_as_failed_with_the_reason(request_type: str) -> None:
    # Given work that raises (or a request type CloudFormation never sends)
    put = Recorder()

    def work(request: CustomResourceRequest) -> dict[str, str]:
        raise RuntimeError("migration 0002 failed: relation exists")

    # When it is handled, Then CloudFormation hears FAILED, with why, instead of waiting an hour
    status = answer_custom_resource(event(request_type), Context(), work, "id", put=put)
    assert status == FAILED
    [answer] = put.answers
    assert answer["Status"] == FAILED
    assert "RuntimeError" in answer["Reason"] or "Bogus" in answer["Reason"]
    assert len(json.dumps(answer)) < 4096


def test_the_watchdog_answers_before_the_function_times_out() -> None:
    # Given work that is still running when the invocation is about to time out
    put, release = Recorder(), threading.Event()

    def slow(request: CustomResourceRequest) -> dict[str, str]:
        # The watchdog (armed for 0 s: remaining time is below the reserve) must answer while this waits.
        assert release.wait(timeout=30)
        return {"Applied": "late"}

    def answered_then_release(url: str, body: bytes) -> None:
        put(url, body)
        release.set()

    # When it is handled
    status = answer_custom_resource(event("Create"), Context(remaining_ms=5_000), slow, "id", put=answered_then_release)
    # Then FAILED went out once, in time, and the late success was not sent as a second answer
    assert status == FAILED
    assert [a["Status"] for a in put.answers] == [FAILED]
    assert "in time" in put.answers[0]["Reason"]


def test_a_lost_answer_is_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a response URL that drops the first PUT
    monkeypatch.setattr("commerce.adapters.orders_db.custom_resource.time.sleep", lambda seconds: None)
    put = Recorder(failures_before_success=1)
    # When the request is answered, Then the second attempt delivers it
    answer_custom_resource(event("Create"), Context(), lambda r: {}, "id", put=put)
    assert [a["Status"] for a in put.answers] == [SUCCESS]
