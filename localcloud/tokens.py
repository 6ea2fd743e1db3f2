"""`localcloud token USER`: print a Cognito JWT for a user of the running local cloud, obtained as a client does
(InitiateAuth, USER_PASSWORD_AUTH, against `AwsEndpointUrl` with `UserPoolClientId` from outputs.json). A demo
user's password comes from outputs.json's `DemoUsers`; any other user gives `--password`.

    curl -H "Authorization: Bearer $(python -m localcloud token operator)" "$API/admin/orders"
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from localcloud.aws import edge_client

OUTPUTS_FILE = "outputs.json"
TOKEN_KINDS = {"id": "IdToken", "access": "AccessToken"}


class TokenError(Exception):
    """No token: no running cloud, an unknown user, or Cognito refused."""


def add_token_command(commands: Any) -> None:
    """The `token` subcommand, on the CLI's subparsers."""
    token = commands.add_parser("token", help="print a JWT for a user (a demo user of outputs.json by default)")
    token.add_argument("user", help="the user name, e.g. operator")
    token.add_argument("--password", help="the user's password (default: the demo user's, from outputs.json)")
    token.add_argument("--kind", choices=sorted(TOKEN_KINDS), default="id", help="ID token (default) or access token")
    token.set_defaults(run_command=run_token_command)


def run_token_command(args: argparse.Namespace) -> int:
    try:
        outputs = read_outputs(Path(args.project_dir) / args.state_dir)
        print(user_token(outputs, args.user, args.password, TOKEN_KINDS[args.kind]))
    except TokenError as error:
        print(f"localcloud token: {error}", file=sys.stderr)
        return 2
    return 0


def read_outputs(state_dir: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((state_dir / OUTPUTS_FILE).read_text()))
    except FileNotFoundError:
        raise TokenError(f"no {OUTPUTS_FILE} in {state_dir}: is the local cloud running (make run)?") from None
    except ValueError as error:
        raise TokenError(f"{state_dir / OUTPUTS_FILE} is not JSON: {error}") from None


def user_token(outputs: dict[str, Any], username: str, password: str | None, kind: str = "IdToken") -> str:
    if password is None:
        demo = next((u for u in outputs.get("DemoUsers") or [] if u.get("username") == username), None)
        if demo is None:
            known = ", ".join(u["username"] for u in outputs.get("DemoUsers") or []) or "none"
            raise TokenError(f"{username!r} is not a demo user (they are: {known}); give --password")
        password = str(demo["password"])
    cognito = edge_client("cognito-idp", endpoint_url=outputs["AwsEndpointUrl"], region=outputs["Region"])
    try:
        result = cognito.initiate_auth(
            ClientId=outputs["UserPoolClientId"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
    except ClientError as error:
        raise TokenError(f"Cognito refused {username!r}: {error.response['Error'].get('Message')}") from None
    except BotoCoreError as error:
        raise TokenError(f"Cognito at {outputs['AwsEndpointUrl']} cannot be reached: {error}") from None
    if "AuthenticationResult" not in result:
        raise TokenError(f"Cognito asks {username!r} for another step ({result.get('ChallengeName')})")
    return str(result["AuthenticationResult"][kind])
