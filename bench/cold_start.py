"""Cold start of every function, as a ratio to a same-run baseline.

For each function in template.yaml, a fresh Python process imports the handler module and runs its
module-level init (what Lambda's init phase does), with the function's environment and the common
layer on sys.path. The baseline process does `import boto3; boto3.client("dynamodb")`, the least any
function that talks to DynamoDB pays. Runs are interleaved round by round so that machine noise hits
every column alike; the table shows medians. Target: every function <= 1.3x the baseline.

    python -m bench.cold_start [--runs 11] [FunctionLogicalId ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from localcloud.model import LambdaFunction
from localcloud.template import load_app

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / "layers" / "common"
# What a function sees in Lambda: the layer's pinned requirements and nothing else (the dev venv also
# holds moto, sam-cli, pyOpenSSL, awscrt, psycopg..., which botocore and X-Ray would import and time).
LAYER_VENV = ROOT / ".venv-layer"
TARGET_RATIO = 1.3

_TIMER = """
import sys, time
sys.path[:0] = {paths!r}
start = time.perf_counter()
{body}
print(time.perf_counter() - start)
"""

BASELINE = 'import boto3\nboto3.client("dynamodb")'


def _functions() -> dict[str, LambdaFunction]:
    """Every function of template.yaml, its environment resolved as the local cloud's loader resolves it."""
    return dict(load_app(ROOT / "template.yaml").functions)


def _environment(function: LambdaFunction) -> dict[str, str]:
    """The function's variables as in Lambda."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "LAMBDA_TASK_ROOT": "/var/task",
        **function.environment,
    }


def _layer_python() -> str:
    """A virtualenv holding exactly the layer's requirements, made once and reused."""
    python = LAYER_VENV / "bin" / "python"
    stamp = LAYER_VENV / ".requirements"
    requirements = (LAYER / "requirements.txt").read_text()
    if not python.exists() or not stamp.exists() or stamp.read_text() != requirements:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(LAYER_VENV)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-r",
                str(LAYER / "requirements.txt"),
            ],
            check=True,
        )
        stamp.write_text(requirements)
    return str(python)


def _time_once(python: str, body: str, paths: list[str], env: dict[str, str]) -> float:
    code = _TIMER.format(paths=paths, body=body)
    out = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("functions", nargs="*", help="logical ids to measure (default: every function)")
    args = parser.parse_args()

    functions = {k: v for k, v in _functions().items() if not args.functions or k in args.functions}
    python = _layer_python()
    samples: dict[str, list[float]] = {"baseline": [], **{name: [] for name in functions}}
    for _ in range(args.runs):
        samples["baseline"].append(_time_once(python, BASELINE, [], _environment(next(iter(functions.values())))))
        for name, function in functions.items():
            paths = [str(function.code_dir), *(str(layer) for layer in function.layer_dirs)]
            samples[name].append(_time_once(python, "import app", paths, _environment(function)))

    baseline = statistics.median(samples["baseline"])
    print(f"cold start: median of {args.runs} fresh processes (import + module init), python {sys.version.split()[0]}")
    print(f"{'function':<28} {'median ms':>10} {'ratio':>7}  target <= {TARGET_RATIO}x")
    print(f"{'baseline (boto3 + client)':<28} {baseline * 1000:>10.1f} {1.0:>7.2f}")
    figures = {}
    for name in functions:
        median = statistics.median(samples[name])
        ratio = median / baseline
        figures[name] = {"median_ms": round(median * 1000, 1), "ratio": round(ratio, 2)}
        flag = "" if ratio <= TARGET_RATIO else "  over target"
        print(f"{name:<28} {median * 1000:>10.1f} {ratio:>7.2f}{flag}")
    if args.json:
        print(json.dumps({"baseline_ms": round(baseline * 1000, 1), "functions": figures}))


if __name__ == "__main__":
    main()
