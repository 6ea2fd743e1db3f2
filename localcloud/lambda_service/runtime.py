"""The local Lambda service: runs each function's handler in warm worker processes, as Lambda does.

Workers are forked by one zygote process (`localcloud.lambda_service.worker`), never by this multithreaded
process. Per function there is a pool of workers:

- a worker starts on the first invocation that finds none idle (init = importing the handler), is
  reused while warm, and is closed after `idle_seconds` without work (`reap_idle`);
- an invocation that outlives the function's Timeout kills its worker and fails with
  `Sandbox.Timedout`; a worker that dies mid-invocation fails it with `Runtime.ExitError`; the next
  invocation gets a fresh worker either way;
- concurrency: with ReservedConcurrentExecutions, a synchronous invocation beyond the reserved
  number is throttled at once (`FunctionThrottled`, HTTP 429 TooManyRequestsException, reason
  ReservedFunctionConcurrentInvocationLimitExceeded), exactly as Lambda does. Without it, Lambda
  would scale to the account's 1,000; a laptop cannot, so the pool caps at `default_concurrency`
  workers and further synchronous invocations wait for one to be free (never throttled).
- memory: at most `max_workers` workers live across all functions (by default scaled to the machine's
  cores: a laptop runs only so many at once, and each warm worker holds tens of MiB of its own). A
  function that needs a new worker when the budget is spent closes the least recently used idle worker
  of any function, or waits for one to become idle; a worker that has run only once (migrations,
  custom resources, a rarely used route) is closed after `one_shot_idle_seconds` instead of `idle_seconds`.
- asynchronous (`Event`) invocations are queued, as Lambda queues them, and run when a worker is
  free; a function error is retried `MaximumRetryAttempts` times (default 2) after Lambda's delays
  (1 then 2 minutes, divided by the time scale), then goes to the OnFailure destination or the
  dead-letter queue; a success goes to OnSuccess.

Every worker's stdout/stderr lines reach `log_sink` tagged with the function's logical id.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localcloud.aws import LOCAL_ACCESS_KEY, arn_service, edge_client, function_access_key, queue_url_from_arn
from localcloud.lambda_service.worker import WorkerGone, WorkerHandle, Zygote, ZygoteStopped
from localcloud.model import LambdaFunction, find_function
from localcloud.usage import Usage

DEFAULT_CONCURRENCY = 8
DEFAULT_IDLE_SECONDS = 300.0
DEFAULT_ONE_SHOT_IDLE_SECONDS = 30.0
WORKERS_PER_CORE = 8
INIT_TIMEOUT_SECONDS = 10.0
MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024
ASYNC_RETRY_DELAYS_SECONDS = (60.0, 120.0)
EXECUTED_VERSION = "$LATEST"

LogSink = Callable[[str, str], None]  # (function logical id, one line of its output)
_stderr_lock = threading.Lock()


def stderr_sink(function: str, line: str) -> None:
    with _stderr_lock:
        sys.stderr.write(f"[{function}] {line}\n")
        sys.stderr.flush()


# ---------------------------------------------------------------------- outcomes
class InvokeError(Exception):
    """The Lambda service could not give a function's result."""


class FunctionNotFound(InvokeError, LookupError):
    def __init__(self, function: str) -> None:
        super().__init__(f"Function not found: {function}")
        self.function = function


class FunctionThrottled(InvokeError):
    """Reserved concurrency exhausted: Lambda answers 429 TooManyRequestsException."""

    def __init__(self, function: str, reason: str = "ReservedFunctionConcurrentInvocationLimitExceeded") -> None:
        super().__init__(f"Rate Exceeded. ({function})")
        self.function = function
        self.reason = reason


class RuntimeStopped(InvokeError):
    def __init__(self) -> None:
        super().__init__("the local Lambda runtime has stopped")


class FunctionError(InvokeError):
    """The function ran and failed (raised, crashed, timed out): Lambda's `X-Amz-Function-Error: Unhandled`."""

    def __init__(self, function: str, payload: dict[str, Any]) -> None:
        self.function = function
        self.payload = payload
        self.error_type = str(payload.get("errorType", "Unhandled"))
        self.error_message = str(payload.get("errorMessage", ""))
        super().__init__(f"{function} failed: {self.error_type}: {self.error_message}")


@dataclass(frozen=True)
class InvocationResult:
    """An invocation as Lambda's Invoke API answers it."""

    request_id: str
    payload: bytes  # the function's JSON result, Lambda's error document, or a service error's body
    function_error: str | None = None  # "Unhandled" when the function ran and failed
    executed_version: str = EXECUTED_VERSION
    status_code: int = 200  # 200 RequestResponse, 202 Event, 204 DryRun, 4xx/5xx service errors
    error_code: str | None = None  # a service error (x-amzn-ErrorType): the function did not run

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload.strip() else None


def service_error(status_code: int, code: str, message: str, **extra: str) -> InvocationResult:
    """A refusal of the Lambda service itself (the function did not run), with Lambda's error document."""
    body = json.dumps({"Type": "User", "message": message, **extra}).encode()
    return InvocationResult(str(uuid.uuid4()), body, status_code=status_code, error_code=code)


def _error_result(request_id: str, error_type: str, message: str) -> InvocationResult:
    document = {"errorType": error_type, "errorMessage": f"RequestId: {request_id} Error: {message}"}
    return InvocationResult(request_id, json.dumps(document).encode(), function_error="Unhandled")


def new_trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"


def default_max_workers() -> int:
    """The warm workers this machine holds across all functions: WORKERS_PER_CORE per core."""
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


# ---------------------------------------------------------------------- workers of all functions
class _WorkerBudget:
    """Counts the live workers of every function against one limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.live = 0
        self.condition = threading.Condition()

    def try_take(self) -> bool:
        with self.condition:
            if self.live < self.limit:
                self.live += 1
                return True
            return False

    def give_back(self) -> None:
        with self.condition:
            self.live -= 1
            self.condition.notify()

    def wait_for_change(self, seconds: float) -> None:
        """Until a worker is closed or becomes idle (`notify`), or `seconds` pass."""
        with self.condition:
            self.condition.wait(seconds)

    def notify(self) -> None:
        with self.condition:
            self.condition.notify()


# ---------------------------------------------------------------------- one function's workers
class _Pool:
    def __init__(self, fn: LambdaFunction, default_concurrency: int, budget: _WorkerBudget) -> None:
        self.fn = fn
        self.budget = budget
        self.generation = 0
        self.limit = fn.reserved_concurrency if fn.reserved_concurrency is not None else default_concurrency
        self.reserved = fn.reserved_concurrency is not None
        self.idle: list[WorkerHandle] = []
        self.workers: set[WorkerHandle] = set()
        self.busy = 0
        self.stopped = False
        self.condition = threading.Condition()
        self.executor: ThreadPoolExecutor | None = None

    def update(self, fn: LambdaFunction, default_concurrency: int) -> None:
        with self.condition:
            if fn == self.fn:
                return
            self.fn = fn
            self.generation += 1
            self.limit = fn.reserved_concurrency if fn.reserved_concurrency is not None else default_concurrency
            self.reserved = fn.reserved_concurrency is not None
            stale, self.idle = self.idle, []
            self.condition.notify_all()
        for worker in stale:
            self._discard(worker)

    def reserve(self, *, wait: bool) -> WorkerHandle | None:
        """An idle worker, or None with a slot reserved for a new one; throttles or waits when all are busy."""
        with self.condition:
            while True:
                if self.stopped:
                    raise RuntimeStopped
                if self.idle:
                    self.busy += 1
                    return self.idle.pop()
                if self.busy < self.limit:
                    self.busy += 1
                    return None
                if not wait:
                    raise FunctionThrottled(self.fn.logical_id)
                self.condition.wait()

    def adopt(self, worker: WorkerHandle) -> None:
        with self.condition:
            self.workers.add(worker)

    def release(self, worker: WorkerHandle | None, *, healthy: bool) -> None:
        with self.condition:
            self.busy -= 1
            keep = worker is not None and healthy and not self.stopped and worker.generation == self.generation
            if keep and worker is not None:
                worker.last_used = time.monotonic()
                self.idle.append(worker)
            self.condition.notify()
        if worker is not None and not keep:
            self._discard(worker)
        elif keep:
            self.budget.notify()  # an idle worker is one a starved function may close to make room

    def _discard(self, worker: WorkerHandle) -> None:
        worker.close()
        with self.condition:
            counted = worker in self.workers
            self.workers.discard(worker)
        if counted:
            self.budget.give_back()

    def oldest_idle_since(self) -> float | None:
        with self.condition:
            return self.idle[0].last_used if self.idle else None  # idle is in release order

    def close_oldest_idle(self) -> bool:
        with self.condition:
            if not self.idle:
                return False
            worker = self.idle.pop(0)
        self._discard(worker)
        return True

    def reap(self, older_than: float, one_shot_older_than: float) -> int:
        def expired(worker: WorkerHandle) -> bool:
            limit = one_shot_older_than if worker.invocations <= 1 else older_than
            return worker.last_used <= limit

        with self.condition:
            closing = [w for w in self.idle if expired(w)]
            self.idle = [w for w in self.idle if not expired(w)]
        for worker in closing:
            self._discard(worker)
        return len(closing)

    def stop(self) -> list[WorkerHandle]:
        with self.condition:
            self.stopped = True
            self.condition.notify_all()
            workers = list(self.workers)
            self.idle = []
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
        return workers


# ---------------------------------------------------------------------- the service
class LambdaRuntime:
    """Runs the functions registered with it; `invoke` for callers in this process, `invoke_payload` for the edge."""

    def __init__(
        self,
        *,
        endpoint_url: str,
        region: str = "us-east-1",
        default_concurrency: int = DEFAULT_CONCURRENCY,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        one_shot_idle_seconds: float = DEFAULT_ONE_SHOT_IDLE_SECONDS,
        max_workers: int | None = None,
        async_retry_delays: tuple[float, ...] = ASYNC_RETRY_DELAYS_SECONDS,
        log_sink: LogSink = stderr_sink,
        usage: Usage | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self.usage = usage  # counts invocations and their duration, for the cost benchmark
        self.default_concurrency = default_concurrency
        self.idle_seconds = idle_seconds
        self.one_shot_idle_seconds = min(one_shot_idle_seconds, idle_seconds)
        self._budget = _WorkerBudget(default_max_workers() if max_workers is None else max_workers)
        self.async_retry_delays = async_retry_delays
        self._log_sink = log_sink
        self._functions: dict[str, LambdaFunction] = {}
        self._pools: dict[str, _Pool] = {}
        self._lock = threading.Lock()
        self._zygote = Zygote()
        self._stopping = threading.Event()
        self._reaper: threading.Thread | None = None
        self._log_threads: list[threading.Thread] = []
        self._timers: set[threading.Timer] = set()
        self._clients: dict[str, Any] = {}  # for async invocation destinations, made on first use
        self._clients_lock = threading.Lock()
        # The fault switches' hook (localcloud.faults.kills): kill_hook(function, pid) as a worker takes an
        # invocation, then its disarm() -> True if it killed the worker meanwhile.
        self.kill_hook: Callable[[str, int], Callable[[], bool]] | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LambdaRuntime:
        """Start the zygote now (its imports overlap with provisioning) and the idle reaper."""
        self._zygote.start()
        self._reaper = threading.Thread(target=self._reap_forever, name="lambda-reaper", daemon=True)
        self._reaper.start()
        return self

    def stop(self) -> None:
        """End every worker and the zygote; in-flight invocations fail, queued events are dropped."""
        self._stopping.set()
        with self._lock:
            pools = list(self._pools.values())
            timers, self._timers = list(self._timers), set()
        for timer in timers:
            timer.cancel()
        for pool in pools:
            for worker in pool.stop():
                worker.close()
        self._zygote.stop()
        with self._lock:
            log_threads = list(self._log_threads)
        for thread in log_threads:
            thread.join(timeout=5)
        if self._reaper is not None:
            self._reaper.join(timeout=5)
        with self._clients_lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> LambdaRuntime:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ functions
    def register(self, fn: LambdaFunction) -> None:
        """Make `fn` invocable (again, with a new configuration: its warm workers are replaced)."""
        with self._lock:
            self._functions[fn.logical_id] = fn
            pool = self._pools.get(fn.logical_id)
        if pool is not None:
            pool.update(fn, self.default_concurrency)

    def find(self, name_or_arn: str) -> LambdaFunction | None:
        """By logical id, name, full or partial ARN, with or without a qualifier (as Lambda accepts)."""
        with self._lock:
            functions = list(self._functions.values())
        return find_function(functions, name_or_arn)

    def worker_pids(self, function: str) -> list[int]:
        """The live workers of a function (tests and diagnostics)."""
        fn = self.find(function)
        pool = self._pools.get(fn.logical_id) if fn else None
        if pool is None:
            return []
        with pool.condition:
            return sorted(w.pid for w in pool.workers)

    @property
    def zygote_pid(self) -> int | None:
        return self._zygote.pid

    def _pool(self, fn: LambdaFunction) -> _Pool:
        with self._lock:
            if self._stopping.is_set():
                raise RuntimeStopped
            pool = self._pools.get(fn.logical_id)
            if pool is None:
                pool = self._pools[fn.logical_id] = _Pool(fn, self.default_concurrency, self._budget)
            return pool

    # ------------------------------------------------------------------ synchronous invocation
    def invoke(self, function: str, event: Any) -> Any:
        """Run `function` (logical id, name or ARN) on `event`; its decoded result, or FunctionError."""
        result = self.invoke_payload(function, json.dumps(event).encode())
        if result.function_error:
            raise FunctionError(function, result.json() or {})
        return result.json()

    def invoke_payload(
        self,
        function: str,
        payload: bytes,
        *,
        client_context: dict[str, Any] | None = None,
        trace_id: str | None = None,
    ) -> InvocationResult:
        """A RequestResponse invocation with a raw JSON payload: the result as Lambda's Invoke returns it."""
        fn = self.find(function)
        if fn is None:
            raise FunctionNotFound(function)
        return self._run(
            fn,
            payload,
            request_id=str(uuid.uuid4()),
            wait=fn.reserved_concurrency is None,
            client_context=client_context,
            trace_id=trace_id or new_trace_id(),
        )

    def invoke_api(
        self,
        function: str,
        payload: bytes,
        invocation_type: str = "RequestResponse",
        *,
        client_context: dict[str, Any] | None = None,
        trace_id: str | None = None,
    ) -> InvocationResult:
        """Lambda's Invoke, never raising: service errors come back as `status_code` + `error_code`.

        RequestResponse runs the function; Event queues it (202); DryRun only checks it (204). Unknown
        functions are 404 ResourceNotFoundException, exhausted reserved concurrency 429
        TooManyRequestsException, payloads over 6 MB (1 MB for Event) 413 RequestTooLargeException.
        """
        fn = self.find(function)
        if fn is None:
            return service_error(404, "ResourceNotFoundException", f"Function not found: {function}")
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            return service_error(
                400, "InvalidParameterValueException", f"Unsupported InvocationType: {invocation_type}"
            )
        if invocation_type == "DryRun":
            return InvocationResult(str(uuid.uuid4()), b"", status_code=204)
        limit = MAX_ASYNC_PAYLOAD_BYTES if invocation_type == "Event" else MAX_SYNC_PAYLOAD_BYTES
        if len(payload) > limit:
            return service_error(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
            )
        try:
            if payload.strip():
                json.loads(payload)
        except ValueError as error:
            return service_error(
                400, "InvalidRequestContentException", f"Could not parse request body into json: {error}"
            )
        try:
            if invocation_type == "Event":
                request_id = self.invoke_async(fn.logical_id, payload, trace_id=trace_id)
                return InvocationResult(request_id, b"", status_code=202)
            return self.invoke_payload(fn.logical_id, payload, client_context=client_context, trace_id=trace_id)
        except FunctionThrottled as error:
            return service_error(429, "TooManyRequestsException", "Rate Exceeded.", Reason=error.reason)
        except RuntimeStopped as error:
            return service_error(503, "ServiceException", str(error))

    def _run(
        self,
        fn: LambdaFunction,
        payload: bytes,
        *,
        request_id: str,
        wait: bool,
        client_context: dict[str, Any] | None = None,
        trace_id: str,
    ) -> InvocationResult:
        pool = self._pool(fn)
        worker = pool.reserve(wait=wait)
        healthy = False
        try:
            if worker is None:
                worker = self._start_worker(pool)
            if worker.init_error is not None:
                document = {**worker.init_error, "requestId": request_id}
                return InvocationResult(request_id, json.dumps(document).encode(), function_error="Unhandled")
            message = {
                "requestId": request_id,
                "payload": payload.decode("utf-8"),
                "invokedFunctionArn": fn.arn,
                "deadlineMs": int(time.time() * 1000) + fn.timeout_seconds * 1000,
                "traceId": trace_id,
                "clientContext": client_context,
            }
            started = time.monotonic()
            disarm = self.kill_hook(fn.logical_id, worker.pid) if self.kill_hook is not None else None
            try:
                reply = worker.call(message, timeout=fn.timeout_seconds)
            except TimeoutError:
                worker.kill()
                return _error_result(
                    request_id, "Sandbox.Timedout", f"Task timed out after {fn.timeout_seconds:.2f} seconds"
                )
            except WorkerGone:
                return _error_result(request_id, "Runtime.ExitError", "Runtime exited without providing a reason")
            finally:
                killed = disarm is not None and disarm()
            if killed:  # killed by the fault switches as it answered: its sandbox is dead all the same
                return _error_result(request_id, "Runtime.ExitError", "Runtime exited without providing a reason")
            healthy = True
            worker.invocations += 1
            if self.usage is not None:
                self.usage.record_invocation(fn.logical_id, fn.memory_mb, (time.monotonic() - started) * 1000)
            if "error" in reply:
                return InvocationResult(request_id, json.dumps(reply["error"]).encode(), function_error="Unhandled")
            return InvocationResult(request_id, str(reply["payload"]).encode())
        finally:
            pool.release(worker, healthy=healthy)

    def _start_worker(self, pool: _Pool) -> WorkerHandle:
        fn = pool.fn
        spec = {
            "environment": self.environment_of(fn),
            "code_dir": str(fn.code_dir),
            "layer_dirs": [str(d) for d in fn.layer_dirs],
            "handler": fn.handler,
        }
        init_timeout = max(INIT_TIMEOUT_SECONDS, float(fn.timeout_seconds))
        self._make_room()
        try:
            pid, channel, log_fd = self._zygote.spawn(spec)
        except ZygoteStopped:
            self._budget.give_back()
            raise RuntimeStopped from None
        except BaseException:
            self._budget.give_back()
            raise
        worker = WorkerHandle(pid, channel, pool.generation)
        pool.adopt(worker)
        pump = threading.Thread(
            target=self._pump_logs, args=(fn.logical_id, log_fd), name=f"lambda-logs-{pid}", daemon=True
        )
        pump.start()
        with self._lock:
            self._log_threads = [t for t in self._log_threads if t.is_alive()] + [pump]
        try:
            ready = worker.wait_ready(timeout=init_timeout)
            worker.init_error = ready.get("initError")
        except TimeoutError:
            worker.kill()
            worker.init_error = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": f"Init timed out after {init_timeout:.2f} seconds",
            }
        except WorkerGone:
            worker.init_error = {
                "errorType": "Runtime.ExitError",
                "errorMessage": "Runtime exited during init without providing a reason",
            }
        return worker

    def _make_room(self) -> None:
        """Take a place in the workers' budget: close the least recently used idle worker, or wait for one."""
        while not self._budget.try_take():
            if self._stopping.is_set():
                raise RuntimeStopped
            with self._lock:
                pools = list(self._pools.values())
            candidates = [(since, pool) for pool in pools if (since := pool.oldest_idle_since()) is not None]
            if candidates:
                min(candidates, key=lambda candidate: candidate[0])[1].close_oldest_idle()
            else:
                # Every worker is busy: the next one released or closed notifies; the timeout only
                # bounds how long a stop of the runtime can go unnoticed.
                self._budget.wait_for_change(0.5)

    def _pump_logs(self, function: str, fd: int) -> None:
        with open(fd, "rb") as stream:
            for raw in stream:
                self._log_sink(function, raw.decode("utf-8", "replace").rstrip("\r\n"))

    def environment_of(self, fn: LambdaFunction) -> dict[str, str]:
        """Lambda's variables, the template's, then what makes the function local (endpoint, credentials, tracing)."""
        now = datetime.now(UTC)
        lambda_defined = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
            "LAMBDA_TASK_ROOT": str(fn.code_dir),
            "LAMBDA_RUNTIME_DIR": sys.prefix,
            "_HANDLER": fn.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": fn.name,
            "AWS_LAMBDA_FUNCTION_VERSION": EXECUTED_VERSION,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(fn.timeout_seconds),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": fn.log_group or f"/aws/lambda/{fn.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{now:%Y/%m/%d}/[{EXECUTED_VERSION}]{uuid.uuid4().hex}",
            "AWS_LAMBDA_LOG_FORMAT": fn.log_format,
        }
        local = {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            # The function's own key: the edge evaluates its calls against its role's policies (localcloud.iam).
            "AWS_ACCESS_KEY_ID": function_access_key(fn.arn),
            "AWS_SECRET_ACCESS_KEY": LOCAL_ACCESS_KEY,
            "AWS_SESSION_TOKEN": LOCAL_ACCESS_KEY,
            # Never the developer's own AWS configuration or credentials.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            # No X-Ray daemon here: Tracer stays quiet, while _X_AMZN_TRACE_ID (set per invocation) still
            # correlates the logs.
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        return {**lambda_defined, **fn.environment, **local}

    # ------------------------------------------------------------------ asynchronous invocation
    def invoke_async(self, function: str, payload: bytes, *, trace_id: str | None = None) -> str:
        """An Event invocation: queued, run when a worker is free, retried on error; returns its request id."""
        fn = self.find(function)
        if fn is None:
            raise FunctionNotFound(function)
        pool = self._pool(fn)
        request_id = str(uuid.uuid4())
        self._submit(
            pool, payload, request_id, attempt=0, queued_at=time.monotonic(), trace_id=trace_id or new_trace_id()
        )
        return request_id

    def _submit(
        self, pool: _Pool, payload: bytes, request_id: str, *, attempt: int, queued_at: float, trace_id: str
    ) -> None:
        with pool.condition:
            if pool.stopped:
                return
            if pool.executor is None:
                pool.executor = ThreadPoolExecutor(
                    max_workers=max(pool.limit, 1), thread_name_prefix=f"lambda-async-{pool.fn.logical_id}"
                )
            executor = pool.executor
        with contextlib.suppress(RuntimeError):  # shut down meanwhile: the event is dropped with the runtime
            executor.submit(self._run_async, pool, payload, request_id, attempt, queued_at, trace_id)

    def _run_async(
        self, pool: _Pool, payload: bytes, request_id: str, attempt: int, queued_at: float, trace_id: str
    ) -> None:
        fn = pool.fn
        if pool.limit == 0:
            # Reserved concurrency 0: Lambda throttles every attempt until the event ages out.
            self._deliver_outcome(fn, payload, request_id, None, attempt, condition="EventAgeExceeded")
            return
        try:
            result = self._run(fn, payload, request_id=request_id, wait=True, trace_id=trace_id)
        except InvokeError:
            return
        if not result.function_error:
            self._deliver_outcome(fn, payload, request_id, result, attempt + 1, condition="Success")
            return
        age = time.monotonic() - queued_at
        if attempt < fn.async_max_retries and self.async_retry_delays and not self._stopping.is_set():
            delay = self.async_retry_delays[min(attempt, len(self.async_retry_delays) - 1)]
            if age + delay <= fn.async_max_event_age_seconds:
                self._retry_later(pool, payload, request_id, attempt + 1, queued_at, trace_id, delay)
                return
        self._deliver_outcome(fn, payload, request_id, result, attempt + 1, condition="RetriesExhausted")

    def _retry_later(
        self, pool: _Pool, payload: bytes, request_id: str, attempt: int, queued_at: float, trace_id: str, delay: float
    ) -> None:
        def resubmit() -> None:
            with self._lock:
                self._timers.discard(timer)
            self._submit(pool, payload, request_id, attempt=attempt, queued_at=queued_at, trace_id=trace_id)

        timer = threading.Timer(delay, resubmit)
        timer.daemon = True
        with self._lock:
            self._timers.add(timer)
        timer.start()

    def _deliver_outcome(
        self,
        fn: LambdaFunction,
        payload: bytes,
        request_id: str,
        result: InvocationResult | None,
        invoke_count: int,
        *,
        condition: str,
    ) -> None:
        """Send an async invocation's record to its destination (or the failed event to the dead-letter queue)."""
        succeeded = condition == "Success"
        destination = fn.async_on_success if succeeded else fn.async_on_failure
        if destination is None and not succeeded and fn.dead_letter_arn:
            self._send_to(fn.dead_letter_arn, payload.decode("utf-8"), succeeded=False)
            return
        if destination is None:
            if not succeeded:
                self._log_sink(
                    fn.logical_id, f"async invocation {request_id} dropped after {invoke_count} attempt(s): {condition}"
                )
            return
        record: dict[str, Any] = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": request_id,
                "functionArn": f"{fn.arn}:{EXECUTED_VERSION}",
                "condition": condition,
                "approximateInvokeCount": invoke_count,
            },
            "requestPayload": json.loads(payload or b"null"),
            "responseContext": {"statusCode": 200, "executedVersion": EXECUTED_VERSION},
            "responsePayload": result.json() if result is not None else None,
        }
        if result is not None and result.function_error:
            record["responseContext"]["functionError"] = result.function_error
        self._send_to(destination, json.dumps(record), succeeded=succeeded)

    def _send_to(self, arn: str, message: str, *, succeeded: bool) -> None:
        service = arn_service(arn)
        try:
            if service == "sqs":
                sqs = self._client("sqs")
                sqs.send_message(QueueUrl=queue_url_from_arn(sqs, arn), MessageBody=message)
            elif service == "sns":
                self._client("sns").publish(TopicArn=arn, Message=message)
            elif service == "lambda":
                self.invoke_async(arn, message.encode())
            elif service == "events":
                detail_type = "Lambda Function Invocation Result - " + ("Success" if succeeded else "Failure")
                self._client("events").put_events(
                    Entries=[{"Source": "lambda", "DetailType": detail_type, "Detail": message, "EventBusName": arn}]
                )
        except Exception as error:
            self._log_sink("lambda", f"could not deliver an async invocation record to {arn}: {error}")

    def _client(self, service: str) -> Any:
        with self._clients_lock:
            if self._stopping.is_set():
                raise RuntimeStopped  # a client made now would never be closed
            if service not in self._clients:
                self._clients[service] = edge_client(service, endpoint_url=self.endpoint_url, region=self.region)
            return self._clients[service]

    # ------------------------------------------------------------------ idle workers
    def reap_idle(self, *, now: float | None = None) -> int:
        """Close the workers idle for `idle_seconds` or more (`one_shot_idle_seconds` if they ran once); how many."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            pools = list(self._pools.values())
        return sum(pool.reap(moment - self.idle_seconds, moment - self.one_shot_idle_seconds) for pool in pools)

    def _reap_forever(self) -> None:
        interval = max(min(self.one_shot_idle_seconds / 2, 30.0), 0.05)
        while not self._stopping.wait(interval):
            self.reap_idle()
