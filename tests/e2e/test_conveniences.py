"""Day-one conveniences against a running local cloud: `localcloud token USER` prints a JWT the API accepts,
`localcloud totp USER` an operator's current code, and the console is served at the ConsoleUrl output with a
config.json naming this machine's API and the operators' app client."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from localcloud.totp import totp_code
from tests.support.local_cloud import RunningCloud
from tests.support.template import ROOT

pytestmark = pytest.mark.e2e


def token(cloud: RunningCloud, *args: str, command: str = "token") -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "localcloud", "--state-dir", str(cloud.state_dir), command, *args]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def test_token_prints_an_operator_jwt_the_api_accepts(local_cloud: RunningCloud) -> None:
    # Given the running local cloud, When a developer asks for the demo operator's token
    printed = token(local_cloud, "operator")
    # Then it is one line, and /admin/* accepts it
    assert printed.returncode == 0, printed.stderr
    jwt = printed.stdout.strip()
    assert jwt.count(".") == 2
    answer = requests.get(f"{local_cloud.api_url}/admin/queues", headers={"Authorization": f"Bearer {jwt}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert [q["name"] for q in answer.json()["items"]] == ["checkout"]


def test_a_customer_token_is_refused_on_admin_routes(local_cloud: RunningCloud) -> None:
    # A customer's token is from the customers' pool: the operators' authorizer does not take it at all
    printed = token(local_cloud, "customer")
    assert printed.returncode == 0, printed.stderr
    headers = {"Authorization": f"Bearer {printed.stdout.strip()}"}
    answer = requests.get(f"{local_cloud.api_url}/admin/upkeep", headers=headers, timeout=30)
    assert answer.status_code == 401, answer.text  # the gateway's own body: {"message":"Unauthorized"}


def test_totp_prints_the_operators_current_code_and_refuses_a_customer(local_cloud: RunningCloud) -> None:
    operator = local_cloud.demo_user("admin")
    printed = token(local_cloud, "operator", command="totp")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() in {totp_code(operator["totpSecret"], at=time.time() + d) for d in (-30, 0, 30)}
    refused = token(local_cloud, "customer", command="totp")
    assert refused.returncode == 2
    assert "no TOTP secret" in refused.stderr


def test_token_names_the_demo_users_for_an_unknown_one(local_cloud: RunningCloud) -> None:
    printed = token(local_cloud, "mallory")
    assert printed.returncode == 2
    assert "operator" in printed.stderr
    assert printed.stdout == ""


def test_the_console_is_served_with_the_local_endpoints(local_cloud: RunningCloud) -> None:
    console = str(local_cloud.outputs["ConsoleUrl"])
    assert console.startswith("http://127.0.0.1:")
    page = requests.get(console, timeout=30)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    config = requests.get(f"{console}/config.json", timeout=30).json()
    assert config == {
        "apiUrl": local_cloud.api_url,
        "cognitoEndpoint": local_cloud.outputs["AwsEndpointUrl"],
        "clientId": local_cloud.outputs["OperatorUserPoolClientId"],
        "region": local_cloud.outputs["Region"],
    }


def test_the_openapi_page_is_served_offline(local_cloud: RunningCloud) -> None:
    docs = str(local_cloud.outputs["ApiDocsUrl"])
    assert docs == f"{local_cloud.outputs['ConsoleUrl']}/docs/index.html"
    assert "swagger-ui-bundle.js" in requests.get(docs, timeout=30).text
    base = docs.removesuffix("index.html")
    document = requests.get(f"{base}openapi.yaml", timeout=30)
    assert document.status_code == 200
    assert document.text == (ROOT / "openapi.yaml").read_text()
    bundle = requests.get(f"{base}vendor/swagger-ui-dist-5.35.0/swagger-ui-bundle.js", timeout=30)
    assert bundle.status_code == 200
    assert bundle.headers["Content-Type"].startswith("text/javascript")
