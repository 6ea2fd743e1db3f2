"""Payment errors with their stable codes. Class names matter: the checkout state machine retries or
catches Lambda errors by their type name (statemachines/checkout.asl.json)."""

from __future__ import annotations

from commerce.domain.errors import CommerceError, ErrorCode

# How long an HTTP caller is asked to wait before retrying a request the provider could not take.
PROVIDER_RETRY_AFTER_SECONDS = 30


class PaymentProviderUnavailable(CommerceError):
    """The provider could not be reached, timed out or answered 5xx/429: nothing is known to have changed,
    and the same request (same idempotency key) may be sent again. Over HTTP: 503 with `Retry-After`."""

    code = ErrorCode.PAYMENT_PROVIDER_UNAVAILABLE

    def __init__(self, detail: str, retry_after_seconds: int = PROVIDER_RETRY_AFTER_SECONDS) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})
        self.retry_after_seconds = retry_after_seconds


class PaymentProviderRejected(CommerceError):
    """The provider refused the request itself (bad key, invalid parameters): sending it again will not help."""

    code = ErrorCode.INTERNAL


class RefundRejected(PaymentProviderRejected):
    """The provider refused to refund this payment (its charge is disputed, not refundable, ...): asking again
    will not change its mind. `reason` is the provider's code for it. Over HTTP: 409 REFUND_REJECTED, the
    order then REFUND_FAILED with the reason in its history."""

    code = ErrorCode.REFUND_REJECTED

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


class BadSignature(CommerceError):
    """A webhook whose `Stripe-Signature` does not verify (or whose signed payload is not an event)."""

    code = ErrorCode.BAD_SIGNATURE


class PaymentNotRecorded(CommerceError):
    """A paid order whose checkout holds no payment (never expected): nothing can be refunded automatically."""

    code = ErrorCode.INTERNAL


class PaymentDeclined(CommerceError):
    """The provider declined the payment. Never raised in Python: the webhook fails the waiting workflow task
    with this class's name (`PAYMENT_DECLINED_ERROR`), and the saga reads the name back as this class."""

    code = ErrorCode.CONFLICT
