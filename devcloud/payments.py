"""The app's payments, wired to the local cloud's payments sandbox.

- `PaymentsApiUrlParameter` (a service, after the sandbox): the sandbox's URL becomes the template's
  `PaymentsApiUrl` parameter (unless given on the command line), so the functions reach it exactly as
  they would reach Stripe. Templates without that parameter are left alone.
- `PaymentsWebhookRegistration` (glue): what an operator does after deploying, done once the stack is
  provisioned and its API serves: the sandbox's secret key goes into `PaymentsApiKeySecret`, and a sandbox
  webhook endpoint for the webhook route (the event types the webhook handles) is registered, its signing
  secret put into `PaymentsWebhookSecret`. The webhook route is read from the stack: the route whose function
  is given that secret (`<ApiUrl>/webhooks/payments/stripe` in template.yaml). Templates without those secrets
  or such a route are left alone. It also adds the `PaymentsApiUrl` output (the sandbox's URL, as the stack sees it),
  and `PaymentsWebhookSecretId` (where the signing secret is, for `devcloud invoke` to sign the webhook sample).
"""

from __future__ import annotations

import secrets

from devcloud.sample_events import WEBHOOK_SECRET_OUTPUT
from localcloud.context import CloudContext
from localcloud.model import LocalApp
from localcloud.payments.component import PaymentsService

PAYMENTS_URL_PARAMETER = "PaymentsApiUrl"
PAYMENTS_API_KEY_SECRET = "PaymentsApiKeySecret"  # noqa: S105 - a logical id, not a secret
PAYMENTS_WEBHOOK_SECRET = "PaymentsWebhookSecret"  # noqa: S105 - a logical id, not a secret
PAYMENTS_WEBHOOK_EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "refund.failed",  # a refund that fails later: its order becomes REFUND_FAILED
    "charge.refund.updated",
)


class PaymentsApiUrlParameter:
    def start(self, cloud: CloudContext) -> None:
        url = cloud.component(PaymentsService).url
        if PAYMENTS_URL_PARAMETER in (cloud.template.get("Parameters") or {}):
            cloud.parameter_overrides.setdefault(PAYMENTS_URL_PARAMETER, url)

    def stop(self) -> None:
        pass  # nothing of its own runs


class PaymentsWebhookRegistration:
    def __init__(self) -> None:
        self._payments: PaymentsService | None = None
        self._endpoint_id: str | None = None

    def start(self, cloud: CloudContext) -> None:
        app = cloud.app
        cloud.output_overrides[PAYMENTS_URL_PARAMETER] = app.outputs.get(
            PAYMENTS_URL_PARAMETER, app.parameters.get(PAYMENTS_URL_PARAMETER)
        )
        self._payments = cloud.component(PaymentsService)
        sandbox = self._payments.sandbox
        secretsmanager = cloud.client("secretsmanager")
        key_secret = app.physical_ids.get(PAYMENTS_API_KEY_SECRET)
        if key_secret:
            secretsmanager.put_secret_value(SecretId=key_secret, SecretString=sandbox.secret_key)
        webhook_secret = app.physical_ids.get(PAYMENTS_WEBHOOK_SECRET)
        path = webhook_path(app, webhook_secret) if webhook_secret else None
        if webhook_secret and path:
            # The secret is stored before the endpoint exists: its first event must already verify.
            signing_secret = f"whsec_{secrets.token_urlsafe(24)}"
            secretsmanager.put_secret_value(SecretId=webhook_secret, SecretString=signing_secret)
            endpoint = sandbox.add_webhook_endpoint(
                f"{cloud.api_url}{path}",
                secret=signing_secret,
                enabled_events=PAYMENTS_WEBHOOK_EVENTS,
                description="local cloud: the stack's payment webhook",
            )
            self._endpoint_id = endpoint.id
            cloud.output_overrides[WEBHOOK_SECRET_OUTPUT] = webhook_secret  # for `invoke` to sign samples with

    def stop(self) -> None:
        endpoint_id, self._endpoint_id = self._endpoint_id, None
        if endpoint_id is not None and self._payments is not None:
            self._payments.sandbox.remove_webhook_endpoint(endpoint_id)


def webhook_path(app: LocalApp, webhook_secret: str) -> str | None:
    """The path of the POST route whose function is given the webhook's signing secret, if the stack serves one."""
    for api in app.http_apis:
        for route in api.routes:
            function = app.functions.get(route.function)
            if route.method == "POST" and function is not None and webhook_secret in function.environment.values():
                return route.path
    return None
