"""Contract fuzzing: schemathesis runs every operation of openapi.yaml against a local cloud of its own.

`schemathesis run` (configured by tests/fuzz/schemathesis.toml, extra checks in tests/fuzz/hooks.py) goes through
its phases: the spec's examples, coverage (boundary and just-out-of-bounds values, missing required parts, wrong
types: the negative cases), random fuzzing of valid and invalid inputs, and stateful sequences that follow
openapi.yaml's `links` (create a product, then read, replace and stock it; add a cart line, then set and remove it;
check out, then read and cancel the checkout; list orders, then act on one). Each operation is called with the
identity its security scheme names: a guest session token, the demo customer's JWT, the demo operator's JWT.

The checks: no 5xx; status codes, content types, headers and bodies exactly as openapi.yaml declares them; data
the schema allows is accepted and data it forbids refused; every error is problem+json with the response's
status and an UPPER_SNAKE code; every response carries X-Request-Id.

CI runs a bounded number of examples per operation (FUZZ_MAX_EXAMPLES, default below; at least 1,000 requests in
all); `make fuzz` runs many more. The counts (operations, requests, failures) are printed at the end of the run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import yaml

from tests.e2e.conftest import Api
from tests.support.local_cloud import ROOT, RunningCloud, run_local_cloud
from tests.support.shopping import add_line, check_out, pay

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz]

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "5"))
SEED = os.environ.get("FUZZ_SEED", "1")
MIN_REQUESTS = 1000
RUN_TIMEOUT_SECONDS = 1800


@dataclass(frozen=True)
class FuzzCounts:
    operations: int
    requests: int
    failures: int

    def line(self) -> str:
        return f"contract fuzzing: {self.operations} operations, {self.requests} requests, {self.failures} failures"


@pytest.fixture(scope="module")
def cloud() -> Iterator[RunningCloud]:
    """A local cloud of its own, with the demo data: the fuzzer's writes reach no other test's objects."""
    yield from run_local_cloud()


def seed_orders(cloud: RunningCloud) -> None:
    """The demo customer's paid order and open checkout, so that the listings the stateful phase starts from
    lead it (openapi.yaml's links) to real orders and checkouts to read, fulfil, cancel and refund."""
    api = Api(cloud)
    headers = {"X-Session-Token": api.new_session(), **api.customer()}
    sku = api.create_product(on_hand=50)["sku"]
    add_line(api, headers, sku, 1)
    pay(api, headers, check_out(api, headers))
    add_line(api, headers, sku, 1)
    check_out(api, headers)


def identities(cloud: RunningCloud) -> dict[str, str]:
    """The three identities of openapi.yaml's security schemes, as the environment schemathesis.toml reads."""
    session = requests.post(f"{cloud.api_url}/sessions", timeout=30)
    assert session.status_code == 201, session.text
    return {
        "FUZZ_SESSION_TOKEN": session.json()["token"],
        "FUZZ_CUSTOMER_JWT": cloud.id_token(None),
        "FUZZ_OPERATOR_JWT": cloud.id_token("admin"),
    }


def counts(report_dir: Path) -> FuzzCounts:
    """Operations and failures from the JUnit report, requests from the HAR archive."""
    suites = ElementTree.parse(next(report_dir.glob("junit-*.xml"))).getroot()  # noqa: S314 - our own run's report
    operations = sum(1 for case in suites.iter("testcase") if re.match(r"^[A-Z]+ /", case.get("name", "")))
    failures = sum(
        len(re.findall(r"^\d+\. Test Case ID:", failure.text or "", re.MULTILINE)) for failure in suites.iter("failure")
    )
    requests_made = len(json.loads(next(report_dir.glob("har-*.json")).read_text())["log"]["entries"])
    return FuzzCounts(operations, requests_made, failures)


def test_every_operation_keeps_the_contract_under_fuzzing(
    cloud: RunningCloud, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the local cloud with a paid order and an open checkout, its three identities and openapi.yaml
    seed_orders(cloud)
    report_dir = tmp_path / "report"
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run", str(ROOT / "openapi.yaml"),
        "--url", cloud.api_url, "--max-examples", str(MAX_EXAMPLES), "--seed", SEED, "--no-color",
        "--report", "junit,har", "--report-dir", str(report_dir),
    ]  # fmt: skip
    # When schemathesis runs every phase against every operation
    run = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, **identities(cloud)},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
        check=False,
    )
    assert list(report_dir.glob("junit-*.xml")), (
        f"schemathesis wrote no report\n{run.stdout[-5000:]}\n{run.stderr[-5000:]}"
    )
    found = counts(report_dir)
    with capsys.disabled():
        print(f"\n{found.line()}")
    # Then every operation was tested, with enough requests, and nothing failed
    assert found.operations == len(operations_in_spec()), run.stdout[-5000:]
    assert found.requests >= MIN_REQUESTS, found.line()
    assert (run.returncode, found.failures) == (0, 0), f"{found.line()}\n{run.stdout[-20000:]}\n{run.stderr[-3000:]}"


def operations_in_spec() -> list[str]:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    methods = ("get", "put", "post", "delete", "patch")
    return [f"{m.upper()} {path}" for path, item in spec["paths"].items() for m in item if m in methods]


def test_unknown_paths_and_methods_are_problems(cloud: RunningCloud) -> None:
    # Given every path of openapi.yaml called with a method none of its routes has, and a path no route has
    paths = sorted({operation.split(" ", 1)[1] for operation in operations_in_spec()})
    answers = [requests.request("TRACE", f"{cloud.api_url}{path}", timeout=30) for path in paths]
    unknown = requests.get(f"{cloud.api_url}/no-such-route", timeout=30)
    # Then each is 405 METHOD_NOT_ALLOWED, and the unknown path 404 NOT_FOUND, as problem+json (API.md)
    for answer in answers:
        assert answer.headers.get("content-type", "").startswith("application/problem+json"), answer.text
        assert (answer.status_code, answer.json()["code"]) == (405, "METHOD_NOT_ALLOWED"), answer.text
    assert unknown.headers.get("content-type", "").startswith("application/problem+json"), unknown.text
    assert (unknown.status_code, unknown.json()["code"]) == (404, "NOT_FOUND"), unknown.text
