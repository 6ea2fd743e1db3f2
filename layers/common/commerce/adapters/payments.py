"""Stripe, through the official `stripe` package, with its API base from PAYMENTS_API_URL (Stripe itself, or
the local cloud's Stripe-compatible sandbox): the `PaymentProvider` of commerce.domain.payments, and
webhook verification.

Errors are translated here, at the boundary:
- unreachable, timed out, 5xx, 429, or an idempotency key still in use -> PaymentProviderUnavailable
  (the same request, with the same idempotency key, may be sent again: the workflow retries it with backoff);
- anything else Stripe refuses -> PaymentProviderRejected (sending it again will not help); a refund Stripe
  refuses for the payment's sake (4xx invalid request or card error: disputed, not refundable, ...) ->
  RefundRejected with Stripe's code, except `charge_already_refunded`, which is the refund done before.
The secret key is read from Secrets Manager once per container; an authentication error reads it once more
(operators put the real key into `PaymentsApiKeySecret` after the first deploy) before giving up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field

from commerce import bounded_json
from commerce.adapters import secrets
from commerce.domain.money import Money
from commerce.domain.payments.errors import (
    BadSignature,
    PaymentProviderRejected,
    PaymentProviderUnavailable,
    RefundRejected,
)
from commerce.domain.payments.models import IntentState, PaymentEvent, PaymentIntent, Refund
from commerce.settings import FunctionSettings

if TYPE_CHECKING:
    import stripe

T = TypeVar("T")

STRIPE_API_URL = "https://api.stripe.com"
SIGNATURE_TOLERANCE_SECONDS = 300
_UNEXPECTED_STATE = "payment_intent_unexpected_state"
_ALREADY_REFUNDED = "charge_already_refunded"


class PaymentsSettings(FunctionSettings):
    """Where the payment provider is and where its secrets are (template.yaml sets them on the functions that
    talk to it; unset, the provider refuses every call with a clear message)."""

    payments_api_url: str = Field(STRIPE_API_URL, alias="PAYMENTS_API_URL", min_length=8)
    payments_api_key_secret_arn: str | None = Field(None, alias="PAYMENTS_API_KEY_SECRET_ARN")
    payments_webhook_secret_arn: str | None = Field(None, alias="PAYMENTS_WEBHOOK_SECRET_ARN")


class StripePayments:
    """`PaymentProvider` over Stripe's REST API.

    `network_retries` are the stripe package's own (each with the same idempotency key). The workflow's
    steps use none: Step Functions retries them with backoff and jitter, and two layers of retries would
    multiply. The HTTP handlers use a couple, as they have nobody else to retry for them.
    """

    def __init__(
        self,
        api_url: str,
        api_key_secret_arn: str | None,
        *,
        network_retries: int = 0,
        timeout_seconds: float = 10.0,
        read_secret: Callable[[str], str] = secrets.secret_string,
        forget_secret: Callable[[str], None] = secrets.forget,
    ) -> None:
        self.api_url = api_url
        self.api_key_secret_arn = api_key_secret_arn
        self.network_retries = network_retries
        self.timeout_seconds = timeout_seconds
        self._read_secret = read_secret
        self._forget_secret = forget_secret
        self._lock = threading.Lock()
        self._client: stripe.StripeClient | None = None

    @classmethod
    def from_settings(cls, settings: PaymentsSettings, *, network_retries: int = 0) -> StripePayments:
        return cls(settings.payments_api_url, settings.payments_api_key_secret_arn, network_retries=network_retries)

    # ------------------------------------------------------------------ PaymentProvider

    def create_intent(self, amount: Money, metadata: Mapping[str, str], idempotency_key: str) -> PaymentIntent:
        intent = self._call(
            lambda client: client.v1.payment_intents.create(
                {
                    "amount": amount.amount,
                    "currency": amount.currency.lower(),
                    "metadata": dict(metadata),
                    "automatic_payment_methods": {"enabled": True},
                },
                {"idempotency_key": idempotency_key},
            )
        )
        if not intent.client_secret:
            raise PaymentProviderRejected(f"Payment intent {intent.id} came without a client secret")
        return PaymentIntent(intent_id=intent.id, client_secret=intent.client_secret, amount=amount)

    def cancel_intent(self, intent_id: str) -> IntentState:
        try:
            self._call(lambda client: client.v1.payment_intents.cancel(intent_id, {"cancellation_reason": "abandoned"}))
        except PaymentProviderRejected as refused:
            if _stripe_code(refused) == _UNEXPECTED_STATE:
                return self._settled_state(intent_id, refused)
            raise
        return IntentState.CANCELED

    def refund(self, intent_id: str, metadata: Mapping[str, str], idempotency_key: str) -> Refund:
        try:
            refund = self._call(
                lambda client: client.v1.refunds.create(
                    {"payment_intent": intent_id, "metadata": dict(metadata)},
                    {"idempotency_key": idempotency_key},
                )
            )
        except PaymentProviderRejected as refused:
            if _stripe_code(refused) == _ALREADY_REFUNDED:
                return Refund(refund_id=None, intent_id=intent_id)
            _raise_if_refused_for_the_payment(refused)
            raise
        return Refund(refund_id=refund.id, intent_id=intent_id)

    # ------------------------------------------------------------------ plumbing

    def _settled_state(self, intent_id: str, refused: PaymentProviderRejected) -> IntentState:
        """Why an intent could not be cancelled: it is cancelled already, or it has been paid."""
        intent = self._call(lambda client: client.v1.payment_intents.retrieve(intent_id))
        if intent.status == "canceled":
            return IntentState.CANCELED
        if intent.status == "succeeded":
            return IntentState.SUCCEEDED
        raise refused

    def _call(self, operation: Callable[[stripe.StripeClient], T]) -> T:
        import stripe  # imported on first use: most functions that can refund seldom do (cold start)

        retryable = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)
        try:
            try:
                return operation(self._stripe())
            except stripe.AuthenticationError:
                # The key may have been replaced since this container read it: read it once more.
                self._reset()
                return operation(self._stripe())
        except retryable as error:
            raise PaymentProviderUnavailable(f"The payment provider is unavailable: {_describe(error)}") from error
        except stripe.IdempotencyError as error:
            # 409: the key is still in use by a request in flight, worth retrying; 400: the key was used with
            # other parameters, which no retry can change.
            if error.http_status == 409:
                raise PaymentProviderUnavailable(f"The payment provider is busy: {_describe(error)}") from error
            raise PaymentProviderRejected(f"The payment provider refused the request: {_describe(error)}") from error
        except stripe.StripeError as error:
            raise PaymentProviderRejected(f"The payment provider refused the request: {_describe(error)}") from error

    def _stripe(self) -> stripe.StripeClient:
        import stripe

        with self._lock:
            if self._client is None:
                if not self.api_key_secret_arn:
                    raise PaymentProviderRejected("No payment provider key is configured (PAYMENTS_API_KEY_SECRET_ARN)")
                self._client = stripe.StripeClient(
                    self._read_secret(self.api_key_secret_arn),
                    base_addresses={"api": self.api_url},
                    max_network_retries=self.network_retries,
                    http_client=stripe.RequestsClient(timeout=self.timeout_seconds),
                )
            return self._client

    def _reset(self) -> None:
        with self._lock:
            self._client = None
            if self.api_key_secret_arn:
                self._forget_secret(self.api_key_secret_arn)


def _stripe_code(refused: PaymentProviderRejected) -> str | None:
    """The Stripe error code behind a refusal (`payment_intent_unexpected_state`, ...), if any."""
    cause = refused.__cause__
    code = getattr(cause, "code", None)
    return code if isinstance(code, str) else None


def _raise_if_refused_for_the_payment(refused: PaymentProviderRejected) -> None:
    """RefundRejected when Stripe refused a refund because of the payment itself (an invalid request about it,
    or a card error), not because of our key or our use of idempotency keys."""
    import stripe

    cause = refused.__cause__
    if not isinstance(cause, stripe.InvalidRequestError | stripe.CardError):
        return
    reason = _stripe_code(refused) or "refused"
    raise RefundRejected(f"The payment provider refused the refund: {_describe(cause)}", reason=reason) from cause


def _describe(error: stripe.StripeError) -> str:
    status = f"HTTP {error.http_status}" if error.http_status else type(error).__name__
    return f"{status}: {error.user_message or error}"


# ---------------------------------------------------------------------------------------------- webhooks


def verified_event(
    payload: bytes, signature: str | None, secret: str, tolerance: int = SIGNATURE_TOLERANCE_SECONDS
) -> PaymentEvent:
    """The event a webhook request carries, once its `Stripe-Signature` verifies (HMAC-SHA256 of the raw body,
    timestamp within `tolerance`); BadSignature for anything else, including a body that is not an event.
    The signature is checked before a byte of the body is parsed: an unsigned body costs one HMAC, never a parse."""
    import stripe

    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadSignature("The webhook body is not UTF-8 text") from error
    try:
        stripe.WebhookSignature.verify_header(text, signature, secret, tolerance)
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise BadSignature("The Stripe-Signature header does not verify this body") from error
    try:
        document: Any = bounded_json.loads(payload)
    except ValueError as error:
        raise BadSignature("The webhook body is not a JSON event") from error
    if not isinstance(document, dict) or document.get("object") != "event":
        raise BadSignature("The webhook body is not an event")
    return PaymentEvent.from_stripe(document)
