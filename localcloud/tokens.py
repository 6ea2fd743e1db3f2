"""`localcloud token USER`: print a Cognito JWT for a user of the running local cloud, obtained as a client does
(InitiateAuth USER_PASSWORD_AUTH against `AwsEndpointUrl`, then the SOFTWARE_TOKEN_MFA challenge answered with
a TOTP code where the pool asks for one). `localcloud totp USER` prints the code an authenticator app would show.

A demo user's password, app client and TOTP secret come from outputs.json's `DemoUsers`; any other user gives
`--password` (and `--client-id`, `--totp-secret` where they differ from the customers' app client and no MFA).

    curl -H "Authorization: Bearer $(python -m localcloud token operator)" "$API/admin/orders"
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from localcloud.aws import edge_client
from localcloud.totp import totp_code

OUTPUTS_FILE = "outputs.json"
TOKEN_KINDS = {"id": "IdToken", "access": "AccessToken"}


class TokenError(Exception):
    """No token: no running cloud, an unknown user, or Cognito refused."""


def add_token_command(commands: Any) -> None:
    """The `token` and `totp` subcommands, on the CLI's subparsers."""
    token = commands.add_parser("token", help="print a JWT for a user (a demo user of outputs.json by default)")
    token.add_argument("user", help="the user name, e.g. operator")
    token.add_argument("--password", help="the user's password (default: the demo user's, from outputs.json)")
    token.add_argument("--client-id", help="the app client (default: the demo user's, else UserPoolClientId)")
    token.add_argument("--totp-secret", help="the user's TOTP secret where the pool requires MFA (default: the demo's)")
    token.add_argument("--kind", choices=sorted(TOKEN_KINDS), default="id", help="ID token (default) or access token")
    token.set_defaults(run_command=run_token_command)
    totp = commands.add_parser("totp", help="print the current TOTP code of a demo operator (as an authenticator app)")
    totp.add_argument("user", help="the user name, e.g. operator")
    totp.set_defaults(run_command=run_totp_command)


def run_token_command(args: argparse.Namespace) -> int:
    try:
        outputs = read_outputs(Path(args.project_dir) / args.state_dir)
        login = Login.of(outputs, args.user, password=args.password, client_id=args.client_id, secret=args.totp_secret)
        print(user_token(outputs, login, TOKEN_KINDS[args.kind]))
    except TokenError as error:
        print(f"localcloud token: {error}", file=sys.stderr)
        return 2
    return 0


def run_totp_command(args: argparse.Namespace) -> int:
    try:
        login = Login.of(read_outputs(Path(args.project_dir) / args.state_dir), args.user)
        if login.totp_secret is None:
            raise TokenError(f"{args.user!r} has no TOTP secret in outputs.json (only operators sign in with one)")
        print(totp_code(login.totp_secret))
    except TokenError as error:
        print(f"localcloud totp: {error}", file=sys.stderr)
        return 2
    return 0


def read_outputs(state_dir: Path) -> dict[str, Any]:
    try:
        return dict(json.loads((state_dir / OUTPUTS_FILE).read_text()))
    except FileNotFoundError:
        raise TokenError(f"no {OUTPUTS_FILE} in {state_dir}: is the local cloud running (make run)?") from None
    except ValueError as error:
        raise TokenError(f"{state_dir / OUTPUTS_FILE} is not JSON: {error}") from None


@dataclass(frozen=True)
class Login:
    """What signing a user in takes: name, password, app client, and the TOTP secret where MFA is required."""

    username: str
    password: str
    client_id: str
    totp_secret: str | None

    @classmethod
    def of(
        cls,
        outputs: dict[str, Any],
        username: str,
        *,
        password: str | None = None,
        client_id: str | None = None,
        secret: str | None = None,
    ) -> Login:
        """A user's login: a demo user's from outputs.json's `DemoUsers`, what is given taking precedence."""
        demo = next((u for u in outputs.get("DemoUsers") or [] if u.get("username") == username), None)
        if demo is None and password is None:
            known = ", ".join(u["username"] for u in outputs.get("DemoUsers") or []) or "none"
            raise TokenError(f"{username!r} is not a demo user (they are: {known}); give --password")
        demo = demo or {}
        return cls(
            username,
            password or str(demo["password"]),
            client_id or str(demo.get("clientId") or outputs["UserPoolClientId"]),
            secret or demo.get("totpSecret"),
        )


def user_token(outputs: dict[str, Any], login: Login, kind: str = "IdToken") -> str:
    """Sign `login` in as a client does; its `kind` token (IdToken or AccessToken)."""
    cognito = edge_client("cognito-idp", endpoint_url=outputs["AwsEndpointUrl"], region=outputs["Region"])
    try:
        result = cognito.initiate_auth(
            ClientId=login.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": login.username, "PASSWORD": login.password},
        )
        if result.get("ChallengeName") == "SOFTWARE_TOKEN_MFA":
            if login.totp_secret is None:
                raise TokenError(f"Cognito asks {login.username!r} for a TOTP code; give --totp-secret")
            result = cognito.respond_to_auth_challenge(
                ClientId=login.client_id,
                ChallengeName="SOFTWARE_TOKEN_MFA",
                Session=result["Session"],
                ChallengeResponses={
                    "USERNAME": login.username,
                    "SOFTWARE_TOKEN_MFA_CODE": totp_code(login.totp_secret),
                },
            )
    except ClientError as error:
        raise TokenError(f"Cognito refused {login.username!r}: {error.response['Error'].get('Message')}") from None
    except BotoCoreError as error:
        raise TokenError(f"Cognito at {outputs['AwsEndpointUrl']} cannot be reached: {error}") from None
    if "AuthenticationResult" not in result:
        step = result.get("ChallengeName")
        advice = " (set up TOTP first, e.g. in the console)" if step == "MFA_SETUP" else ""
        raise TokenError(f"Cognito asks {login.username!r} for another step ({step}){advice}")
    return str(result["AuthenticationResult"][kind])


def enrol_totp(cognito: Any, client_id: str, username: str, password: str) -> str:
    """Sign a user of a pool requiring TOTP in once and set up their software token, as they would at their
    first sign-in (MFA_SETUP: AssociateSoftwareToken, VerifySoftwareToken with a code, RespondToAuthChallenge),
    and make it their preferred MFA; the token's secret, to make codes with."""
    try:
        started = cognito.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        if started.get("ChallengeName") == "MFA_SETUP":  # Cognito (and the local cloud's edge)
            secret = cognito.associate_software_token(Session=started["Session"])
            code = totp_code(secret["SecretCode"])
            verified = cognito.verify_software_token(Session=secret["Session"], UserCode=code)
            done = cognito.respond_to_auth_challenge(
                ClientId=client_id,
                ChallengeName="MFA_SETUP",
                Session=verified["Session"],
                ChallengeResponses={"USERNAME": username},
            )
            access_token = done["AuthenticationResult"]["AccessToken"]
        elif "AuthenticationResult" in started:  # moto on its own hands tokens to a user with no software token
            access_token = started["AuthenticationResult"]["AccessToken"]
            secret = cognito.associate_software_token(AccessToken=access_token)
            cognito.verify_software_token(AccessToken=access_token, UserCode=totp_code(secret["SecretCode"]))
        else:
            raise TokenError(f"signing {username!r} in asks for {started.get('ChallengeName')}, not MFA_SETUP")
        cognito.set_user_mfa_preference(
            AccessToken=access_token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )
    except ClientError as error:
        raise TokenError(f"Cognito refused to enrol {username!r}: {error.response['Error'].get('Message')}") from None
    return str(secret["SecretCode"])
