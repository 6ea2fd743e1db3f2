"""What `python -m devcloud invoke` fills into a sample event before the function gets it: the webhook's signature.

The samples in events/ are literal Lambda events, and the demo data holds the ids and tokens they name
(`demo_data`). The one thing a file cannot hold is a signature that verifies now: Stripe's scheme signs a
timestamp that must be within minutes (`commerce.adapters.payments`), with the signing secret the local
cloud generated for the stack's webhook endpoint at start (`payments.PaymentsWebhookRegistration`). So an
event with a `stripe-signature` header is signed afresh over its body, with that secret and the current
time; every other event goes through as written.
"""

from __future__ import annotations

import json
import time
from typing import Any

from localcloud.aws import edge_client
from localcloud.payments.signature import signature_header

SIGNATURE_HEADER = "stripe-signature"
WEBHOOK_SECRET_OUTPUT = "PaymentsWebhookSecretId"  # noqa: S105 - an output name (PaymentsWebhookRegistration adds it)


def prepare_event(function: str, event: bytes, outputs: dict[str, Any]) -> bytes:
    document = json.loads(event)
    headers = document.get("headers") if isinstance(document, dict) else None
    if not isinstance(headers, dict) or SIGNATURE_HEADER not in headers or WEBHOOK_SECRET_OUTPUT not in outputs:
        return event
    secrets = edge_client("secretsmanager", endpoint_url=outputs["AwsEndpointUrl"], region=outputs["Region"])
    secret = secrets.get_secret_value(SecretId=outputs[WEBHOOK_SECRET_OUTPUT])["SecretString"]
    headers[SIGNATURE_HEADER] = signature_header(str(document.get("body") or ""), secret, int(time.time()))
    return json.dumps(document).encode()
