"""`python -m localcloud`: run any SAM template on this machine, or invoke one of its functions.

run [--reset] [--port N] [--edge-port N] [--time-scale X]
    Start everything the template describes; Ctrl-C or SIGTERM stops it all.
invoke FunctionLogicalId [--event events/x.json]
    A Docker-free `sam local invoke`: print the function's response; exit 1 if the function failed.
    Goes through the running local cloud when there is one (its data, its services); otherwise
    starts the stack just for this invocation. The project's extension may fill in what the event file
    cannot hold literally (`Extension.prepare_event`: devcloud signs the webhook sample).
token USER  /  totp USER  /  faults show|set|clear|kill|aws
    A user's JWT and an operator's TOTP code (localcloud.tokens); the running cloud's fault switches
    (localcloud.faults.cli).

This runner knows no project. A project's entry point calls `main(argv, extension=...)` with its glue
(`localcloud.context.Extension`): this repository's is `python -m devcloud`, which `make run` uses.
A new subcommand is a parser in `_parser()` and a branch in `main()`.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from localcloud.aws import edge_client
from localcloud.cloud import (
    DEFAULT_STACK_NAME,
    OUTPUTS_FILE,
    LocalCloud,
    LocalCloudError,
    default_services,
    running_cloud_pid,
)
from localcloud.context import Component, Extension
from localcloud.faults.cli import add_faults_command
from localcloud.lambda_service.runtime import FunctionNotFound, InvokeError
from localcloud.memory_trace import MemoryTrace
from localcloud.payments.switches import InvalidSwitches
from localcloud.template import LocalCloudTemplateError
from localcloud.timescale import InvalidTimeScale, time_scale_from_env, validate_time_scale
from localcloud.tokens import add_token_command

EXIT_FUNCTION_ERROR = 1
EXIT_CANNOT_RUN = 2


class _StopRequested(Exception):
    """SIGINT or SIGTERM arrived: unwind from wherever the main thread is and stop everything."""


def _parse_parameters(values: list[str]) -> dict[str, str]:
    parameters = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise argparse.ArgumentTypeError(f"--parameter takes Name=Value, not {value!r}")
        parameters[name] = text
    return parameters


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="localcloud", description="A SAM template's serverless backend on this machine, without Docker."
    )
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="where template.yaml is (default: .)")
    parser.add_argument(
        "--state-dir", default=".localcloud", help="local state and outputs.json (default: .localcloud)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the whole backend (with the project's demo data, if any)")
    run.add_argument("--reset", action="store_true", help="start from empty state (wipes the state directory)")
    run.add_argument("--port", type=int, default=3000, help="HTTP API port (default 3000)")
    run.add_argument("--edge-port", type=int, default=4566, help="AWS endpoint port (default 4566)")
    run.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="run waits, retries and schedules X times faster (default: LOCALCLOUD_TIME_SCALE, else 1)",
    )
    run.add_argument(
        "--parameter", action="append", default=[], metavar="NAME=VALUE", help="template parameter override"
    )
    run.add_argument("--no-seed", action="store_true", help="no demo data (what the project's extension seeds)")
    run.add_argument(
        "--no-iam", action="store_true", help="allow every AWS call of the functions (default: LOCALCLOUD_IAM, else on)"
    )

    add_token_command(commands)
    add_faults_command(commands)
    invoke = commands.add_parser("invoke", help="invoke one function once (like sam local invoke)")
    invoke.add_argument("function", help="the function's logical id in template.yaml, e.g. HealthFunction")
    invoke.add_argument("--event", "-e", help="JSON event file ('-' for stdin); {} when omitted")
    invoke.add_argument(
        "--parameter", action="append", default=[], metavar="NAME=VALUE", help="template parameter override"
    )
    return parser


class _NoExtension:
    """A plain run of the template: the local cloud's own rooms and nothing else."""

    stack_name = DEFAULT_STACK_NAME

    def services(self) -> list[Component]:
        return []

    def glue(self, *, demo_data: bool) -> list[Component]:
        return []

    def prepare_event(self, function: str, event: bytes, outputs: dict[str, Any]) -> bytes:
        return event


def main(argv: list[str] | None = None, *, extension: Extension | None = None) -> int:
    args = _parser().parse_args(argv)
    if hasattr(args, "run_command"):
        return int(args.run_command(args))
    extension = extension or _NoExtension()
    try:
        parameters = _parse_parameters(args.parameter)
        if args.command == "run":
            return _run(args, parameters, extension)
        return _invoke(args, parameters, extension)
    except LocalCloudTemplateError as error:
        print(f"template.yaml cannot run locally: {error}", file=sys.stderr)
    except (LocalCloudError, InvalidTimeScale, InvalidSwitches, argparse.ArgumentTypeError, OSError) as error:
        print(f"localcloud: {error}", file=sys.stderr)
    return EXIT_CANNOT_RUN


# ---------------------------------------------------------------------- run
def _run(args: argparse.Namespace, parameters: dict[str, str], extension: Extension) -> int:
    def request_stop(signum: int, frame: FrameType | None) -> None:
        # Once: a second Ctrl-C during shutdown must not interrupt the cleanup itself.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise _StopRequested

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    trace = MemoryTrace.from_env()  # LOCALCLOUD_TRACEMALLOC: a debug switch, off by default
    cloud = LocalCloud(
        args.project_dir,
        state_dir=args.state_dir,
        api_port=args.port,
        edge_port=args.edge_port,
        time_scale=time_scale_from_env() if args.time_scale is None else validate_time_scale(args.time_scale),
        reset=args.reset,
        stack_name=extension.stack_name,
        parameter_overrides=parameters,
        services=[*default_services(iam=False if args.no_iam else None), *extension.services()],
        glue=extension.glue(demo_data=not args.no_seed),
    )
    try:
        cloud.start()
        if trace is not None:
            trace.start()  # after start-up: what grows while the cloud serves, not what starting it allocates
        print(_banner(cloud), flush=True)
        while True:
            signal.pause()
    except _StopRequested:
        print("\nstopping the local cloud...", file=sys.stderr, flush=True)
    finally:
        cloud.stop()
        if trace is not None:
            trace.stop()
    return 0


def _banner(cloud: LocalCloud) -> str:
    outputs = cloud.outputs
    lines = [
        f"Local cloud is up: stack {cloud.stack_name} in {cloud.region}",
        f"  API            {outputs['ApiUrl']}",
        *([f"  Console        {outputs['ConsoleUrl']}"] if "ConsoleUrl" in outputs else []),
        *([f"  API docs       {outputs['ApiDocsUrl']}"] if "ApiDocsUrl" in outputs else []),
        f"  AWS endpoint   {outputs['AwsEndpointUrl']}   (AWS_ENDPOINT_URL for the AWS CLI and SDKs)",
    ]
    shown = {"ApiUrl", "ConsoleUrl", "ApiDocsUrl", "AwsEndpointUrl", "Region"}
    stack_outputs = {name: value for name, value in outputs.items() if name not in shown and isinstance(value, str)}
    width = max((len(name) for name in stack_outputs), default=0)
    lines += [f"  {name:<{width}}  {value}" for name, value in stack_outputs.items()]
    lines += [f"  {note}" for note in cloud.notes]
    lines += [f"  Outputs        {cloud.outputs_path}", "Ctrl-C stops everything."]
    return "\n".join(lines)


# ---------------------------------------------------------------------- invoke
def _read_event(source: str | None) -> bytes:
    if source is None:
        return b"{}"
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    json.loads(text)  # a clear error now rather than Lambda's InvalidRequestContentException later
    return text.encode()


def _invoke(args: argparse.Namespace, parameters: dict[str, str], extension: Extension) -> int:
    try:
        payload = _read_event(args.event)
    except ValueError as error:
        print(f"localcloud: the event is not JSON: {error}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    state_dir = (args.project_dir / args.state_dir).resolve()
    if running_cloud_pid(state_dir) is not None and (state_dir / OUTPUTS_FILE).exists() and not parameters:
        return _invoke_running(state_dir, args.function, payload, extension)
    # Just this invocation: the stack and the services its functions reach, without event sources or router.
    cloud = LocalCloud(
        args.project_dir,
        state_dir=args.state_dir,
        stack_name=extension.stack_name,
        parameter_overrides=parameters,
        services=[*default_services(), *extension.services()],
        consumers=[],
        glue=extension.glue(demo_data=True),
    )
    with cloud:
        try:
            result = cloud.runtime.invoke_payload(
                args.function, extension.prepare_event(args.function, payload, cloud.outputs)
            )
        except FunctionNotFound:
            return _unknown_function(args.function, sorted(cloud.app.functions))
        except InvokeError as error:
            print(f"localcloud: {error}", file=sys.stderr)
            return EXIT_CANNOT_RUN
    return _print_result(result.payload, result.function_error)


def _invoke_running(state_dir: Path, function: str, payload: bytes, extension: Extension) -> int:
    outputs: dict[str, Any] = json.loads((state_dir / OUTPUTS_FILE).read_text())
    client = edge_client("lambda", endpoint_url=outputs["AwsEndpointUrl"], region=outputs["Region"])
    try:
        response = client.invoke(FunctionName=function, Payload=extension.prepare_event(function, payload, outputs))
    except client.exceptions.ResourceNotFoundException:
        return _unknown_function(function, [])
    return _print_result(response["Payload"].read(), response.get("FunctionError"))


def _unknown_function(function: str, known: list[str]) -> int:
    hint = f"; the template's functions are {', '.join(known)}" if known else ""
    print(f"localcloud: no function {function!r} in template.yaml{hint}", file=sys.stderr)
    return EXIT_CANNOT_RUN


def _print_result(payload: bytes, function_error: str | None) -> int:
    print(payload.decode("utf-8"), flush=True)
    return EXIT_FUNCTION_ERROR if function_error else 0


if __name__ == "__main__":
    sys.exit(main())
