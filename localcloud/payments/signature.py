"""Stripe's webhook signature: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<payload>">`.

The key is the endpoint's signing secret (`whsec_...`), used as UTF-8 bytes exactly as Stripe's libraries
verify it (`stripe.Webhook.construct_event(payload, header, secret)`).
"""

from __future__ import annotations

import hashlib
import hmac


def signature_header(payload: str, secret: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
