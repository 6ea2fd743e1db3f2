"""The processes that run Lambda handlers: one zygote, and the warm workers it forks.

The local cloud's main process is multithreaded (servers, pollers), and forking a multithreaded
process is unsafe, so it never forks. It starts one single-threaded zygote
(`python -m localcloud.lambda_service.worker --zygote FD PARENT_PID`) that imports what every function
imports (boto3, Powertools, pydantic, ...) once, freezes the garbage collector so those pages stay
shared, and forks a worker per request of the main process. A worker then becomes one execution
environment of one function, as Lambda's would be:

- environment replaced by the function's (from the template) plus Lambda's own variables;
- `sys.path` = the code directory, the layers, then the interpreter's own (stdlib, site-packages);
- the handler imported once (init), then invoked once per request with a Lambda-like context;
- stdout/stderr go to a pipe the main process reads and prefixes with the function's name.

Messages are length-prefixed JSON on Unix socket pairs; the socket a worker talks on and its log
pipe are handed to the zygote with SCM_RIGHTS. This module holds both ends of that protocol: the
zygote and worker loops, and the main process's `Zygote` and `WorkerHandle`. It imports only the
standard library and nothing from the rest of the local cloud, so the zygote starts light.
"""

from __future__ import annotations

import contextlib
import ctypes
import decimal
import gc
import importlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

_HEADER = struct.Struct("!I")
_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_MAX_FDS = 4
_PR_SET_PDEATHSIG = 1

# Imported by the zygote before it forks: what the functions of this project import, so a worker
# starts warm and shares these pages. Import only, never configure: clients and Logger/Tracer are
# created in the worker, after its environment is the function's.
PRELOAD_MODULES = (
    "json",
    "decimal",
    "uuid",
    "datetime",
    "hashlib",
    "hmac",
    "urllib.request",
    "boto3",
    "boto3.session",
    "boto3.dynamodb.types",
    "botocore.session",
    "botocore.client",
    "botocore.endpoint",
    "botocore.parsers",
    "botocore.serialize",
    "botocore.credentials",
    "botocore.regions",
    "pydantic",
    "aws_lambda_powertools",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.tracing",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.typing",
    "aws_lambda_powertools.utilities.parser",
    "aws_lambda_powertools.utilities.idempotency",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.data_classes",
    "jwt",
    "stripe",
)


# ---------------------------------------------------------------------- framing
def send_message(sock: socket.socket, message: Any, fds: list[int] | None = None) -> None:
    data = json.dumps(message, separators=(",", ":")).encode()
    frame = _HEADER.pack(len(data)) + data
    if fds:
        # The descriptors travel with the first bytes of the frame; the rest follows as plain data.
        sent = socket.send_fds(sock, [frame[:4096]], fds)
        sock.sendall(frame[sent:])
    else:
        sock.sendall(frame)


def receive_message(sock: socket.socket, *, with_fds: bool = False) -> tuple[Any, list[int]]:
    """The next message and the descriptors sent with it; (None, []) when the other side has gone."""
    fds: list[int] = []
    header = b""
    while len(header) < _HEADER.size:
        if with_fds:
            chunk, received, _, _ = socket.recv_fds(sock, _HEADER.size - len(header), _MAX_FDS)
            fds.extend(received)
        else:
            chunk = sock.recv(_HEADER.size - len(header))
        if not chunk:
            return None, fds
        header += chunk
    (length,) = _HEADER.unpack(header)
    body = bytearray()
    while len(body) < length:
        chunk = sock.recv(min(length - len(body), 1 << 20))
        if not chunk:
            return None, fds
        body += chunk
    return json.loads(body), fds


def set_parent_death_signal() -> None:
    """Linux: die with the parent, so no worker outlives the local cloud (elsewhere, EOF on the socket ends it)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# ---------------------------------------------------------------------- the context object
class ClientContext:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.client = raw.get("client")
        self.custom = raw.get("custom")
        self.env = raw.get("env")


class CognitoIdentity:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.cognito_identity_id = raw.get("cognitoIdentityId")
        self.cognito_identity_pool_id = raw.get("cognitoIdentityPoolId")


class LambdaContext:
    """What Lambda's Python runtime passes as `context`; values read from the environment are text, as there."""

    def __init__(
        self,
        *,
        request_id: str,
        invoked_function_arn: str,
        deadline_ms: int,
        client_context: dict[str, Any] | None = None,
        identity: dict[str, Any] | None = None,
    ) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = ClientContext(client_context) if client_context else None
        self.identity = CognitoIdentity(identity or {})
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, message: str) -> None:
        sys.stdout.write(message)


# ---------------------------------------------------------------------- errors as Lambda reports them
def error_payload(
    error: BaseException, request_id: str, *, error_type: str | None = None, message: str | None = None
) -> dict[str, Any]:
    frames = traceback.extract_tb(error.__traceback__)
    # Lambda shows the user's frames, not the runtime's own.
    user_frames = [frame for frame in frames if frame.filename != __file__]
    return {
        "errorMessage": message if message is not None else str(error),
        "errorType": error_type or type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(user_frames),
    }


def _decimal_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def load_handler(handler: str) -> Any:
    """Import the handler as Lambda's Python runtime does, failing with its error types."""
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError:
        raise _InitFault(
            "Runtime.MalformedHandlerName", f"Bad handler '{handler}': not enough values to unpack"
        ) from None
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise _InitFault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}") from error
    except SyntaxError as error:
        raise _InitFault("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}") from error
    function = getattr(module, function_name, None)
    if function is None:
        raise _InitFault("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return function


class _InitFault(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


# ---------------------------------------------------------------------- the worker
def run_worker(spec: dict[str, Any], channel: socket.socket, base_path: list[str]) -> None:
    """Become one execution environment of `spec`'s function and serve invocations until the channel closes."""
    os.environ.clear()
    os.environ.update(spec["environment"])
    time.tzset()
    sys.path[:] = [spec["code_dir"], *spec["layer_dirs"], *base_path]
    importlib.invalidate_caches()
    with contextlib.suppress(OSError):
        os.chdir(spec["code_dir"])

    handler = None
    init_error = None
    try:
        handler = load_handler(spec["handler"])
    except _InitFault as fault:
        init_error = {"errorMessage": str(fault), "errorType": fault.error_type, "requestId": "", "stackTrace": []}
    except Exception as error:
        init_error = error_payload(error, "")
    if init_error is not None:
        sys.stderr.write(f"[ERROR] {init_error['errorType']}: {init_error['errorMessage']}\n")
    send_message(channel, {"ready": init_error is None, "initError": init_error})
    if handler is None:
        return

    while True:
        request, _ = receive_message(channel)
        if request is None:
            return
        send_message(channel, _invoke(handler, request))


def _invoke(handler: Any, request: dict[str, Any]) -> dict[str, Any]:
    request_id = request["requestId"]
    os.environ["_X_AMZN_TRACE_ID"] = request["traceId"]
    context = LambdaContext(
        request_id=request_id,
        invoked_function_arn=request["invokedFunctionArn"],
        deadline_ms=request["deadlineMs"],
        client_context=request.get("clientContext"),
    )
    try:
        event = json.loads(request["payload"]) if request["payload"] else {}
        result = handler(event, context)
    except Exception as error:
        payload = error_payload(error, request_id)
        sys.stderr.write(f"[ERROR] {payload['errorType']}: {payload['errorMessage']}\n{''.join(payload['stackTrace'])}")
        return {"error": payload}
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    try:
        return {"payload": json.dumps(result, default=_decimal_default)}
    except (TypeError, ValueError) as error:
        return {
            "error": {
                "errorMessage": f"Unable to marshal response: {error}",
                "errorType": "Runtime.MarshalError",
                "requestId": request_id,
                "stackTrace": [],
            }
        }


# ---------------------------------------------------------------------- the zygote
# Service models every worker's clients would otherwise parse from botocore's JSON on their own: loaded
# once into boto3's default session here, the parsed models are pages the forked workers share.
_PRELOAD_KEY = "preload"  # no real key: the preloaded clients never send a request
PRELOAD_SERVICE_MODELS = ("dynamodb", "sqs", "stepfunctions", "rds-data", "secretsmanager", "events", "cognito-idp")


def _preload() -> None:
    for name in PRELOAD_MODULES:
        # A package the project does not install is simply not preloaded; the function imports what it has.
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    with contextlib.suppress(Exception):
        import boto3

        # Only the models: region, endpoint and credentials are still read from the worker's own environment
        # when its clients are made (botocore looks them up then, not when the session is created).
        boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION._session  # type: ignore[union-attr]
        for service in PRELOAD_SERVICE_MODELS:
            with contextlib.suppress(Exception):
                session.get_service_model(service)
                session.get_paginator_model(service)
                # A client made and closed at once loads, into the session's caches, what every client of
                # the service reads when it is made (endpoints, partitions, endpoint rules, retry and default
                # configuration): ~1.5 MiB per service a worker would otherwise hold alone. Region, endpoint and
                # keys are given so that nothing is looked up here (no credential chain, no instance metadata);
                # the worker's clients still read its own environment.
                session.create_client(
                    service,
                    region_name="us-east-1",
                    endpoint_url="http://127.0.0.1:9",
                    aws_access_key_id=_PRELOAD_KEY,
                    aws_secret_access_key=_PRELOAD_KEY,
                ).close()


def zygote_main(control_fd: int, parent_pid: int) -> None:
    set_parent_death_signal()
    if os.getppid() != parent_pid:
        return
    # Children are reaped by the kernel: the main process learns of a worker's end from its socket.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    base_path = [p for p in sys.path[1:] if p]
    control = socket.socket(fileno=control_fd)
    _preload()
    gc.collect()
    gc.freeze()
    while True:
        spec, fds = receive_message(control, with_fds=True)
        if spec is None:
            return
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            send_message(control, {"error": "a spawn request needs a socket and a log pipe"})
            continue
        channel_fd, log_fd = fds
        pid = os.fork()
        if pid == 0:
            _become_worker(control, spec, channel_fd, log_fd, base_path)
        os.close(channel_fd)
        os.close(log_fd)
        send_message(control, {"pid": pid})


def _become_worker(
    control: socket.socket, spec: dict[str, Any], channel_fd: int, log_fd: int, base_path: list[str]
) -> None:
    exit_code = 0
    try:
        control.close()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        set_parent_death_signal()
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        run_worker(spec, socket.socket(fileno=channel_fd), base_path)
    except BaseException:
        traceback.print_exc()
        exit_code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(exit_code)


# ---------------------------------------------------------------------- the main process's side
class WorkerGone(Exception):
    """The worker's socket closed: the process exited or was killed."""


class WorkerHandle:
    """The main process's handle on one worker: its socket, its pid, its log pump."""

    def __init__(self, pid: int, channel: socket.socket, generation: int) -> None:
        self.pid = pid
        self.channel = channel
        self.generation = generation
        self.last_used = time.monotonic()
        self.invocations = 0  # completed ones: a worker that ran once is reaped sooner
        self.init_error: dict[str, Any] | None = None

    def call(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait `timeout` seconds for its reply (TimeoutError, or WorkerGone)."""
        return self._exchange(message, timeout)

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        """Wait `timeout` seconds for the worker's init report (TimeoutError, or WorkerGone)."""
        return self._exchange(None, timeout)

    def _exchange(self, message: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
        self.channel.settimeout(timeout)
        try:
            if message is not None:
                send_message(self.channel, message)
            reply, _ = receive_message(self.channel)
        except TimeoutError:
            raise
        except OSError as error:  # broken pipe, reset: the worker is gone
            raise WorkerGone from error
        if reply is None:
            raise WorkerGone
        return dict(reply)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGKILL)
        self.close()

    def close(self) -> None:
        """Closing the socket ends the worker: it exits when it reads EOF."""
        with contextlib.suppress(OSError):
            self.channel.close()


class ZygoteStopped(RuntimeError):
    """The zygote was stopped: it forks no more workers (and is not started again behind its owner's back)."""


class Zygote:
    """The single-threaded process that pre-imports the functions' libraries and forks workers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._stopped = False

    def start(self) -> None:
        with self._lock:
            self._ensure_running()

    def _ensure_running(self) -> socket.socket:
        if self._stopped:
            # A spawn racing stop() must not start a new zygote that nobody would stop.
            raise ZygoteStopped("the Lambda zygote has stopped")
        if self._process is not None and self._process.poll() is None and self._control is not None:
            return self._control
        self._close()
        ours, theirs = socket.socketpair()
        # The zygote's environment carries nothing of ours: each worker gets exactly its function's.
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "_X_AMZN"))}
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-u",
                "-m",
                "localcloud.lambda_service.worker",
                "--zygote",
                str(theirs.fileno()),
                str(os.getpid()),
            ],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            cwd=_PROJECT_ROOT,
            env=environment,
            # Its own session: Ctrl-C in the terminal reaches the local cloud, which then ends every worker.
            start_new_session=True,
        )
        theirs.close()
        self._control = ours
        return ours

    def spawn(self, spec: dict[str, Any]) -> tuple[int, socket.socket, int]:
        """Fork a worker for `spec`; returns its pid, our end of its socket and the read end of its log pipe."""
        ours, theirs = socket.socketpair()
        log_read, log_write = os.pipe()
        try:
            with self._lock:
                control = self._ensure_running()
                send_message(control, spec, fds=[theirs.fileno(), log_write])
                reply, _ = receive_message(control)
        except OSError:
            reply = None
        except ZygoteStopped:
            ours.close()
            os.close(log_read)
            raise
        finally:
            theirs.close()
            os.close(log_write)
        if not reply or "pid" not in reply:
            ours.close()
            os.close(log_read)
            raise RuntimeError(f"the Lambda zygote could not start a worker: {reply}")
        return int(reply["pid"]), ours, log_read

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._close()

    def _close(self) -> None:
        if self._process is not None:
            # The zygote leads its own process group, and every worker is in it: one signal ends them all.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
            self._process = None
        if self._control is not None:
            self._control.close()
            self._control = None


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--zygote":
        zygote_main(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit("usage: python -m localcloud.lambda_service.worker --zygote CONTROL_FD PARENT_PID")
