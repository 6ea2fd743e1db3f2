"""The payment glue reads the webhook route from the stack: the route whose function is given the webhook secret."""

from __future__ import annotations

from pathlib import Path

from devcloud.payments import PAYMENTS_WEBHOOK_SECRET, webhook_path
from localcloud.template import load_app

ROOT = Path(__file__).resolve().parents[2]


def test_the_webhook_route_is_the_one_whose_function_gets_the_webhook_secret() -> None:
    # Given this app's template, read offline
    app = load_app(ROOT / "template.yaml")

    # When the glue looks for the route that verifies webhooks
    path = webhook_path(app, app.physical_ids[PAYMENTS_WEBHOOK_SECRET])

    # Then it is the payment webhook's route
    assert path == "/webhooks/payments/stripe"


def test_a_secret_no_function_is_given_names_no_webhook() -> None:
    # Given this app's template and a secret none of its functions reads
    app = load_app(ROOT / "template.yaml")
    unknown = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nobody-reads-this"

    # When the glue looks for the webhook route by it, Then there is none (the registration is skipped)
    assert webhook_path(app, unknown) is None
