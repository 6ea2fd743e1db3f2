"""`localcloud faults ...`: the fault switches of the running local cloud (its `/_localcloud/faults`), found
through outputs.json in the state directory, as the `token` subcommand finds Cognito.

    python -m localcloud faults show                        # the switches and their counts
    python -m localcloud faults kill CreateCheckoutFunction 0.2
    python -m localcloud faults aws dynamodb --operation TransactWriteItems \\
        --error ProvisionedThroughputExceededException --probability 0.1
    python -m localcloud faults aws rds-data --latency-ms 300 --probability 0.5
    python -m localcloud faults set '{"kills": [...], "aws": [...], "payments": {...}}'   # or @file, or -
    python -m localcloud faults clear

`kill` and `aws` add to (or, for the same function / service+operation+error, replace) what is set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import requests

from localcloud.faults.component import CONTROL_PATH
from localcloud.faults.switches import AWS_ERRORS
from localcloud.tokens import TokenError, read_outputs


class FaultsCommandError(Exception):
    """No running cloud, or it refused the switches."""


def add_faults_command(commands: Any) -> None:
    """The `faults` subcommand, on the CLI's subparsers."""
    faults = commands.add_parser("faults", help="show or set the running local cloud's fault switches")
    actions = faults.add_subparsers(dest="faults_action", required=True)
    actions.add_parser("show", help="the switches in force and how many faults each injected")
    actions.add_parser("clear", help="clear every switch (counts are kept)")
    put = actions.add_parser("set", help="replace the switches with this JSON (text, @file, or - for stdin)")
    put.add_argument("switches")
    kill = actions.add_parser("kill", help="kill a function's workers mid-invocation with a probability")
    kill.add_argument("function", help="the function's logical id or name")
    kill.add_argument("probability", type=float, nargs="?", default=1.0, help="0 to 1 (default 1)")
    aws = actions.add_parser("aws", help="inject an AWS error and/or latency at the edge")
    aws.add_argument("service", choices=sorted(AWS_ERRORS))
    aws.add_argument("--operation", help="only this operation (PutItem, ExecuteStatement, StartExecution...)")
    aws.add_argument(
        "--error", help="the error to answer: " + "; ".join(f"{s}: {', '.join(e)}" for s, e in AWS_ERRORS.items())
    )
    aws.add_argument("--probability", type=float, default=1.0, help="0 to 1 (default 1)")
    aws.add_argument("--latency-ms", type=int, default=0, help="wait this long first")
    faults.set_defaults(run_command=run_faults_command)


def run_faults_command(args: argparse.Namespace) -> int:
    try:
        url = _control_url(Path(args.project_dir) / args.state_dir)
        if args.faults_action == "show":
            state = _call("GET", url)
        elif args.faults_action == "clear":
            state = _call("DELETE", url)
        elif args.faults_action == "set":
            state = _call("PUT", url, _read_switches(args.switches))
        else:
            state = _call("PUT", url, _added(_call("GET", url), args))
    except FaultsCommandError as error:
        print(f"localcloud faults: {error}", file=sys.stderr)
        return 2
    print(json.dumps(state, indent=2))
    return 0


def _control_url(state_dir: Path) -> str:
    try:
        return f"{read_outputs(state_dir)['AwsEndpointUrl']}{CONTROL_PATH}"
    except TokenError as error:
        raise FaultsCommandError(str(error)) from None


def _read_switches(source: str) -> Any:
    text = sys.stdin.read() if source == "-" else Path(source[1:]).read_text() if source.startswith("@") else source
    try:
        return json.loads(text)
    except ValueError as error:
        raise FaultsCommandError(f"the switches are not JSON: {error}") from None


def _added(state: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The kills and AWS faults in force with this command's one added (payments left as they are)."""
    kills, aws = list(state["kills"]), list(state["aws"])
    if args.faults_action == "kill":
        kills = [k for k in kills if k["function"] != args.function]
        kills.append({"function": args.function, "probability": args.probability})
    else:
        fault = {
            "service": args.service,
            "operation": args.operation,
            "error": args.error,
            "probability": args.probability,
            "latencyMs": args.latency_ms,
        }
        same = ("service", "operation", "error")
        aws = [a for a in aws if any(a[k] != fault[k] for k in same)] + [fault]
    return {"kills": kills, "aws": aws}


def _call(method: str, url: str, body: Any = None) -> dict[str, Any]:
    try:
        answer = requests.request(method, url, json=body, timeout=30)
    except requests.RequestException as error:
        raise FaultsCommandError(f"the local cloud at {url} does not answer: {error}") from None
    if answer.status_code != 200:
        raise FaultsCommandError(f"refused ({answer.status_code}): {answer.json().get('message')}")
    return dict(answer.json())
