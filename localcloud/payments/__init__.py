"""A Stripe-compatible payments sandbox for the local cloud (component: `PaymentsService`, its `url`).

The backend uses the official `stripe` package with its API base pointed here
(`stripe.StripeClient(key, base_addresses={"api": url})`); nothing in it knows it is local.

What it serves (Stripe's REST shape: form-encoded requests, JSON objects, Stripe's error bodies and statuses):
- `POST /v1/payment_intents`, `GET|POST /v1/payment_intents/{id}`, `POST .../confirm`, `POST .../cancel`
- `POST /v1/refunds`, `GET /v1/refunds/{id}`, `GET /v1/charges/{id}`, `GET /v1/payment_methods/{id}`
- `GET /v1/events`, `GET /v1/events/{id}`
- `POST|GET /v1/webhook_endpoints`, `GET|DELETE /v1/webhook_endpoints/{id}` (the secret is shown on create)
Auth: `Authorization: Bearer <secret key>` (default `sk_test_localcloud`); confirm and retrieve of an intent
also accept its `client_secret` parameter instead (publishable key `pk_test_localcloud`, or no key).
`Idempotency-Key` on POSTs works as Stripe's does (see `idempotency`). Test payment methods are Stripe's
(`pm_card_visa` succeeds, `pm_card_chargeDeclined` and friends decline; see `cards`).

Webhooks: every change records an event and delivers it, signed (`Stripe-Signature`), to each endpoint
listening to its type, retrying until a 2xx with backoff scaled by `time_scale` (see `delivery`).

Switches, for tests and demos (see `switches` for the JSON shape, `control` for the endpoints):
- provider faults on the next N requests, optionally for one path prefix or method:
  `error` (5xx, nothing done), `timeout` (held, then 504, nothing done), `slow` (done, answer held);
- webhook delivery: `paused` (resume to release), `duplicates` (each delivery sent 1 + N times),
  `out_of_order` (each payment intent's events sent newest first), and a log of every delivery attempt.
They are set at construction (`switches=`), from `LOCALCLOUD_PAYMENTS_SWITCHES` (JSON, when `switches` is
not given), over HTTP under `/_sandbox/`, or in code through `sandbox.faults` and `sandbox.webhooks`:

    curl -X POST $SANDBOX_URL/_sandbox/faults -d '{"kind": "error", "status": 503, "count": 2}'
    curl -X PATCH $SANDBOX_URL/_sandbox/webhooks -d '{"duplicates": 1, "out_of_order": true}'
    curl -X POST $SANDBOX_URL/_sandbox/webhooks/pause
    curl "$SANDBOX_URL/_sandbox/webhooks/deliveries?event_type=payment_intent.succeeded"
"""

from localcloud.payments.delivery import DeliveryAttempt
from localcloud.payments.endpoints import WebhookEndpoint
from localcloud.payments.sandbox import PaymentsSandbox
from localcloud.payments.switches import DeliverySettings, FaultSpec, SandboxSwitches

__all__ = ["DeliveryAttempt", "DeliverySettings", "FaultSpec", "PaymentsSandbox", "SandboxSwitches", "WebhookEndpoint"]
