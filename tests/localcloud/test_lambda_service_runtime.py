"""The local Lambda runtime: warm workers per function, Lambda's errors, timeouts, concurrency and async invocation.

One local cloud serves the whole module: a throwaway template whose small functions behave badly on
purpose (raise, crash, hang, fail to import), which the project's real functions never do.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from localcloud.cloud import LocalCloud
from localcloud.lambda_service.runtime import FunctionError, FunctionThrottled, LambdaRuntime
from localcloud.lambda_service.worker import Zygote, ZygoteStopped
from localcloud.template import LocalCloudTemplateError, load_app
from tests.localcloud.conftest import LogLines, ThrowawayProject, unique_stack_name
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.localcloud, pytest.mark.slow]

ECHO = """
import json, os, sys
import boto3

def handler(event, context):
    print("echo got", json.dumps(event))
    tables = boto3.client("dynamodb").list_tables()["TableNames"] if event.get("list_tables") else None
    return {
        "event": event,
        "env": {k: os.environ.get(k) for k in (
            "GREETING", "TABLE_NAME", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_LAMBDA_FUNCTION_TIMEOUT", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
            "_X_AMZN_TRACE_ID", "POWERTOOLS_TRACE_DISABLED", "AWS_ACCESS_KEY_ID", "AWS_LAMBDA_FUNCTION_VERSION")},
        "context": {
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "invoked_function_arn": context.invoked_function_arn,
            "aws_request_id": context.aws_request_id,
            "remaining": context.get_remaining_time_in_millis(),
        },
        "sys_path": sys.path[:2],
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        "tables": tables,
    }
"""

FAIL = """
def handler(event, context):
    raise ValueError("the answer is not " + str(event.get("n")))
"""

SLOW = """
import os, time

def handler(event, context):
    time.sleep(event.get("seconds", 0))
    return {"pid": os.getpid()}
"""

CRASH = """
import os

def handler(event, context):
    if event.get("crash"):
        os._exit(3)
    return {"pid": os.getpid()}
"""

BROKEN_IMPORT = """
import module_that_does_not_exist

def handler(event, context):
    return 1
"""

# Blocks until the test creates `release`, after announcing itself in `inflight/`: lets a test hold
# invocations open and look at how many run at once, without timing anything.
GATE = """
import json, os, time, uuid

def handler(event, context):
    base = event["dir"]
    inflight = os.path.join(base, "inflight")
    os.makedirs(inflight, exist_ok=True)
    marker = os.path.join(inflight, context.aws_request_id)
    open(marker, "w").close()
    running = len(os.listdir(inflight))
    with open(os.path.join(base, "seen-" + uuid.uuid4().hex), "w") as seen:
        seen.write(str(running))
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(base, "release")) and time.monotonic() < deadline:
        time.sleep(0.01)
    os.remove(marker)
    return {"running": running}
"""

# Fails until it has been called `succeed_on` times (counted in a file), then succeeds.
FLAKY = """
import os

def handler(event, context):
    path = event["counter"]
    count = int(open(path).read()) + 1 if os.path.exists(path) else 1
    with open(path, "w") as counter:
        counter.write(str(count))
    if count < event["succeed_on"]:
        raise RuntimeError(f"attempt {count} fails")
    return {"attempts": count}
"""


def _build_project(root: Path) -> ThrowawayProject:
    project = ThrowawayProject(root)
    project.resources["Things"] = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
        },
    }
    project.resources["Outcomes"] = {"Type": "AWS::SQS::Queue"}
    project.function(
        "Echo", ECHO, timeout=7, memory=256, environment={"GREETING": "hello", "TABLE_NAME": {"Ref": "Things"}}
    )
    project.function("Fail", FAIL)
    project.function("Slow", SLOW, timeout=1)
    project.function("Crash", CRASH)
    project.function("BrokenImport", BROKEN_IMPORT)
    project.function("Gate", GATE, timeout=60, reserved_concurrency=1)
    project.function("Pooled", GATE, timeout=60)
    project.function(
        "Flaky",
        FLAKY,
        EventInvokeConfig={
            "MaximumRetryAttempts": 2,
            "DestinationConfig": {"OnSuccess": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["Outcomes", "Arn"]}}},
        },
    )
    project.write()
    return project


@pytest.fixture(scope="module")
def logs() -> LogLines:
    return LogLines()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory, logs: LogLines) -> Iterator[LocalCloud]:
    root = tmp_path_factory.mktemp("lambda-project")
    _build_project(root)
    local = LocalCloud(
        root,
        state_dir=root / ".localcloud",
        stack_name=unique_stack_name(),
        services=[],
        consumers=[],
        default_concurrency=2,
        # Lambda's async retry delays (1 and 2 minutes) compressed to milliseconds.
        time_scale=1000.0,
        log_sink=logs,
    )
    with local:
        yield local


def _ended(pid: int) -> Callable[[], bool]:
    return lambda: not psutil.pid_exists(pid)


def test_a_function_runs_with_its_template_environment_and_a_lambda_context(cloud: LocalCloud) -> None:
    # Given the Echo function, whose template sets GREETING and TABLE_NAME (a Ref to the table)
    fn = cloud.app.functions["Echo"]

    # When it is invoked
    result = cloud.invoke("Echo", {"n": 1, "list_tables": True})

    # Then it saw its environment, Lambda's variables, the local endpoint and a Lambda-like context
    env = result["env"]
    assert env["GREETING"] == "hello"
    assert env["TABLE_NAME"] == cloud.app.physical_ids["Things"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == fn.name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "7"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_ENDPOINT_URL"] == cloud.edge_url
    assert env["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    context = result["context"]
    assert context["function_name"] == fn.name
    assert context["memory_limit_in_mb"] == "256"  # text, as Lambda's Python runtime gives it
    assert context["invoked_function_arn"] == fn.arn
    assert 0 < context["remaining"] <= 7000
    assert result["sys_path"][0] == str(fn.code_dir)
    assert result["cwd"] == str(fn.code_dir)
    # And it reached the local DynamoDB through AWS_ENDPOINT_URL alone
    assert cloud.app.physical_ids["Things"] in result["tables"]


def test_workers_stay_warm_and_each_invocation_gets_its_own_request_and_trace_id(cloud: LocalCloud) -> None:
    # Given a function invoked once
    first = cloud.invoke("Echo", {})

    # When it is invoked again
    second = cloud.invoke("Echo", {})

    # Then the same warm worker answers, with a new request id and trace id
    assert second["pid"] == first["pid"]
    assert second["context"]["aws_request_id"] != first["context"]["aws_request_id"]
    assert second["env"]["_X_AMZN_TRACE_ID"] != first["env"]["_X_AMZN_TRACE_ID"]


def test_a_functions_output_lines_are_tagged_with_its_name(cloud: LocalCloud, logs: LogLines) -> None:
    # Given the Echo function prints what it got
    # When it is invoked with a recognisable event
    cloud.invoke("Echo", {"marker": "tagged-output-1"})

    # Then the line reaches the log sink under the function's logical id
    wait_until(lambda: any("tagged-output-1" in line for line in logs.of("Echo")), "the echo line")


def test_a_raised_error_is_a_function_error_with_lambdas_error_document(cloud: LocalCloud) -> None:
    # Given a function that raises ValueError
    # When it is invoked
    with pytest.raises(FunctionError) as raised:
        cloud.invoke("Fail", {"n": 42})

    # Then the error document has Lambda's shape: message, type, request id and the user's stack frames
    payload = raised.value.payload
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "the answer is not 42"
    assert payload["requestId"]
    assert isinstance(payload["stackTrace"], list)
    assert any("app.py" in frame and "handler" in frame for frame in payload["stackTrace"])
    assert not any("lambda_worker" in frame for frame in payload["stackTrace"])


def test_a_function_that_times_out_is_killed_and_replaced(cloud: LocalCloud) -> None:
    # Given a warm worker of a function with Timeout 1
    warm_pid = cloud.invoke("Slow", {})["pid"]

    # When an invocation runs past the timeout
    result = cloud.runtime.invoke_payload("Slow", json.dumps({"seconds": 30}).encode())

    # Then it fails with Sandbox.Timedout, the worker is gone, and the next invocation gets a new one
    assert result.function_error == "Unhandled"
    error = result.json()
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Task timed out after 1.00 seconds")
    wait_until(lambda: not psutil.pid_exists(warm_pid), "the timed-out worker to exit")
    assert cloud.invoke("Slow", {})["pid"] != warm_pid


def test_a_crashed_worker_fails_the_invocation_and_is_replaced(cloud: LocalCloud) -> None:
    # Given a warm worker
    warm_pid = cloud.invoke("Crash", {})["pid"]

    # When the handler kills its own process
    with pytest.raises(FunctionError) as raised:
        cloud.invoke("Crash", {"crash": True})

    # Then Lambda's Runtime.ExitError is reported and a fresh worker serves the next call
    assert raised.value.error_type == "Runtime.ExitError"
    assert cloud.invoke("Crash", {})["pid"] != warm_pid


def test_a_handler_that_cannot_be_imported_fails_with_runtime_import_module_error(cloud: LocalCloud) -> None:
    # Given a function whose module imports something missing
    # When it is invoked
    with pytest.raises(FunctionError) as raised:
        cloud.invoke("BrokenImport", {})

    # Then the error is Lambda's init error
    assert raised.value.error_type == "Runtime.ImportModuleError"
    assert raised.value.error_message.startswith("Unable to import module 'app'")


class Held:
    """Invocations of a GATE function running in threads until the test creates `release`."""

    def __init__(self, cloud: LocalCloud, function: str, work_dir: Path, count: int) -> None:
        self.work_dir = work_dir
        self.results: list[Any] = []
        self.threads = [threading.Thread(target=self._call, args=(cloud, function), daemon=True) for _ in range(count)]
        for thread in self.threads:
            thread.start()

    def _call(self, cloud: LocalCloud, function: str) -> None:
        self.results.append(cloud.invoke(function, {"dir": str(self.work_dir)}))

    def running(self) -> int:
        inflight = self.work_dir / "inflight"
        return len(os.listdir(inflight)) if inflight.is_dir() else 0

    def release(self) -> None:
        (self.work_dir / "release").touch()
        for thread in self.threads:
            thread.join(timeout=30)


def test_reserved_concurrency_throttles_synchronous_invocations_beyond_it(cloud: LocalCloud, tmp_path: Path) -> None:
    # Given a function with ReservedConcurrentExecutions 1, busy with one invocation
    held = Held(cloud, "Gate", tmp_path, 1)
    wait_until(lambda: held.running() == 1, "the first invocation")

    # When a second synchronous invocation arrives
    # Then it is throttled at once, as Lambda does
    with pytest.raises(FunctionThrottled) as raised:
        cloud.invoke("Gate", {"dir": str(tmp_path)})
    assert raised.value.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"

    # And the held invocation completes once released
    held.release()
    assert held.results == [{"running": 1}]


def test_without_reserved_concurrency_invocations_beyond_the_cap_wait_instead_of_failing(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    # Given the runtime runs at most 2 workers of a function without reserved concurrency
    # When 4 invocations arrive at once and are held open
    held = Held(cloud, "Pooled", tmp_path, 4)
    wait_until(lambda: held.running() == 2, "two running")

    # Then only 2 run, on 2 workers, and the others wait (none was throttled)
    assert len(cloud.runtime.worker_pids("Pooled")) == 2
    assert sum(thread.is_alive() for thread in held.threads) == 4
    held.release()
    assert len(held.results) == 4
    seen = [int(p.read_text()) for p in tmp_path.glob("seen-*")]
    assert len(seen) == 4
    assert max(seen) <= 2


def test_an_event_invocation_is_queued_retried_and_its_success_sent_to_the_destination(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    # Given a function that fails twice before succeeding, with retries and an OnSuccess queue
    counter = tmp_path / "count"
    payload = {"counter": str(counter), "succeed_on": 3}

    # When it is invoked asynchronously through Lambda's Invoke API
    lambda_client = cloud.client("lambda")
    response = lambda_client.invoke(
        FunctionName=cloud.app.functions["Flaky"].name, InvocationType="Event", Payload=json.dumps(payload)
    )

    # Then Lambda's 202 comes back at once, and after two retries the success record reaches the queue
    assert response["StatusCode"] == 202
    sqs = cloud.client("sqs")

    def record() -> Any:
        messages = sqs.receive_message(QueueUrl=cloud.app.physical_ids["Outcomes"], WaitTimeSeconds=1).get("Messages")
        return json.loads(messages[0]["Body"]) if messages else None

    outcome = wait_until(record, "the OnSuccess record")
    assert outcome["requestContext"]["condition"] == "Success"
    assert outcome["requestContext"]["approximateInvokeCount"] == 3
    assert outcome["requestPayload"] == payload
    assert outcome["responsePayload"] == {"attempts": 3}


def test_idle_workers_are_reaped(cloud: LocalCloud) -> None:
    # Given a warm worker
    pid = cloud.invoke("Echo", {})["pid"]

    # When it has been idle longer than the idle period
    reaped = cloud.runtime.reap_idle(now=time.monotonic() + cloud.runtime.idle_seconds + 1)

    # Then it is closed and its process ends
    assert reaped >= 1
    assert cloud.runtime.worker_pids("Echo") == []
    wait_until(lambda: not psutil.pid_exists(pid), "the idle worker to exit")


def test_stopping_the_runtime_leaves_no_worker_or_zygote_behind(
    throwaway_project: ThrowawayProject, start_local_cloud: Callable[..., LocalCloud]
) -> None:
    # Given a running local cloud with warm workers of two functions
    throwaway_project.function("One", "import os\ndef handler(e, c):\n    return os.getpid()\n")
    throwaway_project.function("Two", "import os\ndef handler(e, c):\n    return os.getpid()\n")
    throwaway_project.write()
    cloud = start_local_cloud(throwaway_project.root)
    zygote = cloud.runtime.zygote_pid
    assert zygote is not None
    pids = {cloud.invoke("One", {}), cloud.invoke("Two", {}), zygote}

    # When it stops
    cloud.stop()

    # Then none of those processes is left, nor anything else of the zygote's process group
    for pid in pids:
        wait_until(_ended(pid), f"process {pid} to end")
    with pytest.raises(ProcessLookupError):
        os.killpg(zygote, 0)


def test_a_stopped_zygote_forks_no_more_workers_and_is_not_started_again() -> None:
    # Given a zygote that has been started and stopped
    zygote = Zygote()
    zygote.start()
    first = zygote.pid
    assert first is not None
    zygote.stop()

    # When an invocation that raced the stop asks it for a worker
    with pytest.raises(ZygoteStopped):
        zygote.spawn({"environment": {}, "code_dir": "/", "layer_dirs": [], "handler": "app.handler"})

    # Then no new zygote process was started behind the runtime's back
    assert zygote.pid is None
    wait_until(_ended(first), f"process {first} to end")


def test_a_start_that_fails_on_the_template_stops_what_it_had_started(
    throwaway_project: ThrowawayProject, tmp_path: Path
) -> None:
    # Given a template the local cloud cannot run (a function refers to a parameter that does not exist)
    throwaway_project.function("Fn", "def handler(e, c):\n    return 1\n", environment={"X": {"Ref": "Missing"}})
    throwaway_project.write()
    cloud = LocalCloud(throwaway_project.root, state_dir=tmp_path / "state", stack_name=unique_stack_name(),
                       services=[], consumers=[])  # fmt: skip

    # When it starts
    with pytest.raises(LocalCloudTemplateError):
        cloud.start()

    # Then the Lambda zygote it had started is gone and the state directory is free again
    zygote = cloud.runtime.zygote_pid
    assert zygote is None or not psutil.pid_exists(zygote)
    assert not (tmp_path / "state" / "localcloud.pid").exists()


def test_reset_empties_the_state_directory_before_starting(
    throwaway_project: ThrowawayProject, start_local_cloud: Callable[..., LocalCloud], tmp_path: Path
) -> None:
    # Given a state directory left by an earlier run
    state = tmp_path / "state"
    state.mkdir()
    (state / ".localcloud-state").touch()
    (state / "left-over").write_text("old")
    throwaway_project.function("Fn", "def handler(e, c):\n    return 1\n")
    throwaway_project.write()

    # When the local cloud starts with reset
    cloud = start_local_cloud(throwaway_project.root, state_dir=state, reset=True)

    # Then the old state is gone and the new outputs are there
    assert not (state / "left-over").exists()
    assert cloud.outputs_path.exists()


@pytest.fixture
def budgeted_runtime(throwaway_project: ThrowawayProject) -> Iterator[LambdaRuntime]:
    """A runtime of three small functions that may keep only 2 workers alive in all."""
    pid_of = "import os\ndef handler(e, c):\n    return os.getpid()\n"
    for name in ("First", "Second", "Third"):
        throwaway_project.function(name, pid_of)
    throwaway_project.write()
    app = load_app(throwaway_project.root / "template.yaml", stack_name=unique_stack_name())
    with LambdaRuntime(endpoint_url="http://127.0.0.1:9", max_workers=2, log_sink=LogLines()) as runtime:
        for fn in app.functions.values():
            runtime.register(fn)
        yield runtime


def test_a_new_worker_beyond_the_budget_closes_the_least_recently_used_idle_one(
    budgeted_runtime: LambdaRuntime,
) -> None:
    # Given two warm workers, the budget's whole, First's used less recently than Second's
    first = budgeted_runtime.invoke("First", {})
    second = budgeted_runtime.invoke("Second", {})

    # When a third function needs a worker
    third = budgeted_runtime.invoke("Third", {})

    # Then First's worker made room for it, and Second's is still warm
    assert budgeted_runtime.worker_pids("First") == []
    wait_until(_ended(first), "the least recently used worker to exit")
    assert budgeted_runtime.worker_pids("Second") == [second]
    assert budgeted_runtime.invoke("Second", {}) == second
    assert budgeted_runtime.worker_pids("Third") == [third]


def test_with_every_worker_busy_a_new_one_waits_for_room_instead_of_exceeding_the_budget(
    throwaway_project: ThrowawayProject, tmp_path: Path
) -> None:
    # Given a runtime of at most 1 worker, busy with a held invocation of one function
    throwaway_project.function("Pooled", GATE, timeout=60)
    throwaway_project.function("Other", "import os\ndef handler(e, c):\n    return os.getpid()\n")
    throwaway_project.write()
    app = load_app(throwaway_project.root / "template.yaml", stack_name=unique_stack_name())
    with LambdaRuntime(endpoint_url="http://127.0.0.1:9", max_workers=1, log_sink=LogLines()) as runtime:
        for fn in app.functions.values():
            runtime.register(fn)
        gate_dir = tmp_path / "gate"
        gate_dir.mkdir()
        held = threading.Thread(target=runtime.invoke, args=("Pooled", {"dir": str(gate_dir)}))
        held.start()
        wait_until(lambda: (gate_dir / "inflight").is_dir() and len(os.listdir(gate_dir / "inflight")) == 1, "held")

        # When another function is invoked
        answers: list[int] = []
        other = threading.Thread(target=lambda: answers.append(runtime.invoke("Other", {})))
        other.start()

        # Then it waits (one worker alive), and runs once the held invocation ends and its worker is closed
        assert runtime.worker_pids("Other") == []
        assert other.is_alive()
        (gate_dir / "release").touch()
        held.join(timeout=30)
        other.join(timeout=30)
        assert len(answers) == 1
        assert runtime.worker_pids("Pooled") == []
        assert runtime.worker_pids("Other") == answers


def test_a_worker_that_ran_once_is_reaped_sooner_than_one_in_use(budgeted_runtime: LambdaRuntime) -> None:
    # Given a worker that ran once and one that ran twice
    once = budgeted_runtime.invoke("First", {})
    twice = budgeted_runtime.invoke("Second", {})
    budgeted_runtime.invoke("Second", {})

    # When both have been idle longer than the one-shot period, but not the idle period
    reaped = budgeted_runtime.reap_idle(now=time.monotonic() + budgeted_runtime.one_shot_idle_seconds + 1)

    # Then only the one that ran once is closed
    assert reaped == 1
    assert budgeted_runtime.worker_pids("First") == []
    wait_until(_ended(once), "the one-shot worker to exit")
    assert budgeted_runtime.worker_pids("Second") == [twice]
