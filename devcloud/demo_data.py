"""Demo data for a local run: a small catalog with stock, Cognito users to sign in with, and the guest
session of the samples in events/.

`DemoData` (glue) seeds them into the stack's `CommerceTableName` table, its customers' pool (`UserPoolId`) and
its operators' pool (`OperatorUserPoolId`), once the stack runs, and adds the `DemoUsers` output and the banner's
lines for them.

The catalog goes in through the project's own catalog and stock adapters (the same writes the
admin endpoints make), so it follows the table's item layout by construction. Product ids are
derived from the product names (or are the ids the samples name), so seeding again finds the
products there and changes nothing: stock an operator changed stays as it is.

The users are created the way an administrator would: AdminCreateUser, a permanent password with
AdminSetUserPassword, and membership of their groups (`admin` for operators). The operators' pool requires
TOTP: the demo operator is then enrolled as they would enrol themselves on first sign-in (MFA_SETUP:
AssociateSoftwareToken, VerifySoftwareToken with a code, RespondToAuthChallenge), and their secret goes in
`DemoUsers` (`localcloud totp operator` prints the current code). Cognito cannot give an enrolled user's secret
back, so a demo operator is created afresh at every seeding.

The checkouts and orders the samples in events/ name are `sample_checkout`'s (glue after this one). Why
the samples name fixed ids that the seeding places, rather than samples regenerated from whatever the seeding
made: a sample is a file to read, diff and run as it is, and the ids it names must be the same on every
machine and every start. The API could not give them: a checkout's id is a hash of its session and
Idempotency-Key, its order's id is drawn at random, and the payment intent's is the provider's. So
`sample_checkout` places each checkout under the ids its samples name (the same two writes `POST /checkouts`
makes, through the same adapters), and from there on everything is the product's own path: the stack's
RequestPayment and Complete functions, the payment confirmed at the payments sandbox, its signed webhook
handled by the stack's webhook function. Only the intent id cannot be fixed (the sandbox draws it, as Stripe
does): the `payment_webhook` sample names an intent no demo checkout has, and is acknowledged as not ours.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from commerce.adapters.dynamodb.catalog import DynamoDbCatalog
from commerce.adapters.dynamodb.client import to_attrs
from commerce.adapters.dynamodb.inventory import DynamoDbStockLedger
from commerce.adapters.dynamodb.sessions import session_item
from commerce.domain.catalog.errors import ProductChanged, SkuExists
from commerce.domain.catalog.models import ProductSpec, VariantSpec
from commerce.domain.catalog.service import create_product
from commerce.domain.money import Money
from commerce.domain.sessions.models import Session
from commerce.domain.sessions.tokens import parse_token
from devcloud.progress import Advance, no_progress, progress_bar
from localcloud.context import CloudContext
from localcloud.tokens import enrol_totp

_DEMO_NAMESPACE = uuid.UUID("6f1c2d8e-4b7a-4f0e-9a53-2c1d7e9b8a40")


@dataclass(frozen=True)
class DemoVariant:
    sku: str
    name: str
    price_cents: int
    on_hand: int


@dataclass(frozen=True)
class DemoProduct:
    name: str
    description: str
    category: str
    variants: tuple[DemoVariant, ...]
    fixed_id: str | None = None  # the id the events/ samples name; else one derived from the name

    @property
    def product_id(self) -> str:
        return self.fixed_id or uuid.uuid5(_DEMO_NAMESPACE, self.name).hex


# The stack's two user pools, by the outputs naming the pool and its app client.
CUSTOMERS = ("UserPoolId", "UserPoolClientId")
OPERATORS = ("OperatorUserPoolId", "OperatorUserPoolClientId")


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    email: str
    groups: tuple[str, ...]
    pool: tuple[str, str]  # CUSTOMERS or OPERATORS


CURRENCY = "EUR"

DEMO_CATALOG = (
    DemoProduct(
        "Espresso Cup",
        "A thick-walled porcelain cup that keeps a double shot hot.",
        "kitchen",
        (
            DemoVariant("CUP-ESP-WHITE", "White", 1200, 40),
            DemoVariant("CUP-ESP-BLACK", "Black", 1200, 25),
        ),
    ),
    DemoProduct(
        "Pour-Over Kettle",
        "A gooseneck kettle for a slow, even pour.",
        "kitchen",
        (DemoVariant("KETTLE-GOOSE-1L", "1 litre", 4900, 12),),
    ),
    DemoProduct(
        "Linen Apron",
        "Washed linen with deep pockets.",
        "textiles",
        (
            DemoVariant("APRON-LINEN-S", "Small", 3500, 8),
            DemoVariant("APRON-LINEN-M", "Medium", 3500, 15),
            DemoVariant("APRON-LINEN-L", "Large", 3500, 6),
        ),
    ),
    DemoProduct(
        "Tea Towel Set",
        "Three cotton tea towels in stripes.",
        "textiles",
        (DemoVariant("TOWEL-SET-3", "Set of three", 1900, 30),),
    ),
    DemoProduct(
        "Limited Edition Grinder",
        "A hand grinder with ceramic burrs; only a few made.",
        "equipment",
        (DemoVariant("GRINDER-LTD", "Walnut", 12900, 3),),
    ),
    # The two products the samples in events/ name (their product id and SKUs), so that
    # `python -m devcloud invoke <Function> --event events/<op>.json` finds what it asks for.
    DemoProduct(
        "Organic T-Shirt",
        "Soft organic cotton, cut straight.",
        "textiles",
        (DemoVariant("TSHIRT-RED-M", "Red / M", 1500, 50),),
    ),
    DemoProduct(
        "Trail Runner 2",
        "Lightweight trail running shoe with a grippy outsole.",
        "shoes",
        (
            DemoVariant("TR2-BLK-42", "Black, EU 42", 12900, 10),
            DemoVariant("TR2-BLK-43", "Black, EU 43", 12900, 10),
        ),
        fixed_id="3f1c9a7e5b2d4c8f9a0b1c2d3e4f5a6b",
    ),
)

# The guest session whose token the storefront samples in events/ carry (X-Session-Token). A demo
# credential known to anyone who reads the repository: it exists only in a local cloud's demo data.
SAMPLE_SESSION_TOKEN = "Xb3kq9Lm2Vt7Rw1Zp8Hn4c.3oTnQ0vZk1pXj7W2bL9sYfR5uGcA8dEhMi4NqK6tVwx"  # noqa: S105
SAMPLE_SESSION_DAYS = 7  # the API's default SESSION_TTL_DAYS

DEMO_USERS = (
    DemoUser("operator", "Operator-Demo-2024", "operator@example.com", ("admin",), OPERATORS),
    DemoUser("customer", "Customer-Demo-2024", "customer@example.com", (), CUSTOMERS),
)


def seed_catalog(
    dynamodb_client: Any, table_name: str, *, now: datetime | None = None, advance: Advance = no_progress
) -> int:
    """Add the demo products that are not there yet, with their stock; how many were added."""
    catalog = DynamoDbCatalog(table_name, client=dynamodb_client)
    ledger = DynamoDbStockLedger(table_name, client=dynamodb_client)
    moment = now or datetime.now(UTC)
    added = 0
    for product in DEMO_CATALOG:
        spec = ProductSpec(
            name=product.name,
            description=product.description,
            category=product.category,
            variants=tuple(VariantSpec(v.sku, v.name, Money(v.price_cents, CURRENCY)) for v in product.variants),
        )
        try:
            create_product(catalog, spec, now=moment, new_id=lambda p=product: p.product_id)  # type: ignore[misc]
        except (SkuExists, ProductChanged):
            advance(1)
            continue  # seeded before: leave it, and its stock, as it is now
        for variant in product.variants:
            ledger.set_on_hand(variant.sku, variant.on_hand)
        added += 1
        advance(1)
    return added


def seed_sample_session(dynamodb_client: Any, table_name: str, *, now: datetime | None = None) -> str:
    """(Re)write the samples' guest session, live for a week from now; returns its session id.

    Written over whatever is there, as `POST /sessions` would have made it: each start gives the samples
    a fresh week, and a customer bound to it by an earlier run is let go.
    """
    token = parse_token(SAMPLE_SESSION_TOKEN)
    moment = now or datetime.now(UTC)
    session = Session(
        session_id=token.session_id,
        token_hash=token.hash,
        created_at=moment,
        expires_at=moment + timedelta(days=SAMPLE_SESSION_DAYS),
    )
    dynamodb_client.put_item(TableName=table_name, Item=to_attrs(session_item(session)))
    return session.session_id


def seed_users(cognito_client: Any, outputs: dict[str, Any], *, advance: Advance = no_progress) -> list[dict[str, Any]]:
    """Create the demo users of the pools in `outputs` with permanent passwords, their groups and (in a pool
    requiring MFA) an enrolled TOTP token; returns outputs' DemoUsers (name, password, groups, app client, and
    the TOTP secret where there is one)."""
    listed = []
    for user in DEMO_USERS:
        pool_id, client_id = (outputs.get(key) for key in user.pool)
        if pool_id and client_id:
            secret = _seed_user(cognito_client, user, str(pool_id), str(client_id))
            listed.append(
                {
                    "username": user.username,
                    "password": user.password,
                    "groups": list(user.groups),
                    "clientId": client_id,
                    "totpSecret": secret,
                }
            )
        advance(1)
    return listed


def _seed_user(cognito: Any, user: DemoUser, pool_id: str, client_id: str) -> str | None:
    """The user in their pool, as it is (a customer) or afresh (an operator); their TOTP secret, if enrolled."""
    mfa = cognito.get_user_pool_mfa_config(UserPoolId=pool_id).get("MfaConfiguration", "OFF")
    if mfa == "ON":
        with contextlib.suppress(cognito.exceptions.UserNotFoundException):
            cognito.admin_delete_user(UserPoolId=pool_id, Username=user.username)
    with contextlib.suppress(cognito.exceptions.UsernameExistsException):
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=user.username,
            MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": user.email}, {"Name": "email_verified", "Value": "true"}],
        )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=user.username, Password=user.password, Permanent=True)
    existing = {g["GroupName"] for g in cognito.list_groups(UserPoolId=pool_id).get("Groups", [])}
    for group in user.groups:
        if group not in existing:
            cognito.create_group(UserPoolId=pool_id, GroupName=group)
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=user.username, GroupName=group)
    return enrol_totp(cognito, client_id, user.username, user.password) if mfa == "ON" else None


class DemoData:
    """Seeds the demo catalog and users (unless `seed` is False: then `DemoUsers` is empty)."""

    def __init__(self, *, seed: bool = True) -> None:
        self._seed = seed

    def start(self, cloud: CloudContext) -> None:
        users: list[dict[str, Any]] = []
        outputs = cloud.app.outputs
        table, pools = outputs.get("CommerceTableName"), outputs.get("UserPoolId") or outputs.get("OperatorUserPoolId")
        steps = (len(DEMO_CATALOG) + 1 if table else 0) + (len(DEMO_USERS) if pools else 0)
        if self._seed and steps:
            with progress_bar("demo data", steps) as advance:
                if table:
                    seed_catalog(cloud.client("dynamodb"), table, advance=advance)
                    seed_sample_session(cloud.client("dynamodb"), table)
                    advance(1)
                if pools:
                    users = seed_users(cloud.client("cognito-idp"), outputs, advance=advance)
        cloud.output_overrides["DemoUsers"] = users
        for index, user in enumerate(users):
            groups = f"  (groups: {', '.join(user['groups'])})" if user["groups"] else ""
            totp = f"  TOTP: python -m localcloud totp {user['username']}" if user["totpSecret"] else ""
            label = "Demo users     " if index == 0 else "               "
            cloud.notes.append(f"{label}{user['username']} / {user['password']}{groups}{totp}")

    def stop(self) -> None:
        pass  # the data stays: seeding again finds it there
