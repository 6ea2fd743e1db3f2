"""Every checkout error, with its stable code (the HTTP mapping lives with `ErrorCode`).

Admission (`POST /checkouts`, shared/API.md "Checkout semantics") refuses with the first group; out of stock is
the inventory's `OutOfStock` (409, one `errors` entry per short line). The workflow's steps raise the second
group. Class names matter there: the checkout state machine retries or catches Lambda errors by their type
name (statemachines/checkout.asl.json), and the saga maps those names back to these classes (`saga.FAILURES`).
"""

from __future__ import annotations

from commerce.domain.errors import CommerceError, Conflict, ErrorCode, FieldProblem

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


class CheckoutNotFound(CommerceError):
    code = ErrorCode.NOT_FOUND


class CheckoutChanged(CommerceError):
    """Another writer moved the checkout first (optimistic version check lost)."""

    code = ErrorCode.CONFLICT


# ---------------------------------------------------------------------------------------------- admission


class IdempotencyKeyRequired(CommerceError):
    code = ErrorCode.IDEMPOTENCY_KEY_REQUIRED

    def __init__(self) -> None:
        super().__init__(
            f"Send an {IDEMPOTENCY_KEY_HEADER} header (a value unique to this checkout, such as a UUID) "
            "so that retrying the request cannot check the cart out twice"
        )


class IdempotencyKeyReused(CommerceError):
    code = ErrorCode.IDEMPOTENCY_KEY_REUSED

    def __init__(self) -> None:
        super().__init__(
            f"This {IDEMPOTENCY_KEY_HEADER} was used for a checkout with a different body; "
            "use a new key for a new checkout"
        )


class RequestInProgress(CommerceError):
    code = ErrorCode.REQUEST_IN_PROGRESS

    def __init__(self) -> None:
        super().__init__(f"A request with this {IDEMPOTENCY_KEY_HEADER} is still being processed; retry shortly")


class CartEmpty(CommerceError):
    code = ErrorCode.CART_EMPTY

    def __init__(self) -> None:
        super().__init__("The cart has no lines that can be bought; add something first")


class Busy(CommerceError):
    """Too many checkouts wait for admission: refuse before reserving anything, and say when to come back."""

    code = ErrorCode.BUSY

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            f"Too many checkouts are waiting to be processed; retry in {retry_after_seconds} seconds",
            headers={"Retry-After": str(retry_after_seconds)},
        )
        self.retry_after_seconds = retry_after_seconds


class AttemptAbandoned(Conflict):
    """An earlier attempt with this key reserved stock and then failed before recording the checkout; its
    reservation was given back, and a reservation id is never reused, so this key cannot check out again."""

    def __init__(self) -> None:
        super().__init__(
            f"An earlier attempt with this {IDEMPOTENCY_KEY_HEADER} failed part-way and was undone; "
            "retry with a new key",
            errors=[FieldProblem(field=IDEMPOTENCY_KEY_HEADER, code="ABANDONED", message="use a new key")],
        )


# ---------------------------------------------------------------------------------------------- the workflow


class CheckoutClosed(CommerceError):
    """The checkout is final already (it expired before its workflow started, say): nothing to do for it."""

    code = ErrorCode.CONFLICT


class CheckoutCannotComplete(CommerceError):
    """The payment went through but the checkout cannot be completed (its order or reservation moved on, or
    its payment is not confirmed): retrying will not change that, so the workflow compensates at once."""

    code = ErrorCode.CONFLICT


class CheckoutMissing(CommerceError):
    """The workflow names a checkout that does not exist (never expected: executions start from records)."""

    code = ErrorCode.NOT_FOUND


class CheckoutCancelled(CommerceError):
    """The buyer cancelled the checkout while its workflow waited for the payment. Never raised in Python: the
    cancel fails the waiting task with this name, and the saga reads it back as this class."""

    code = ErrorCode.CONFLICT


class PaymentTimedOut(CommerceError):
    """The workflow waited for the payment longer than the task's timeout. Never raised in Python: Step
    Functions reports it as `States.Timeout` (`STATES_NAME`), and the saga reads it back as this class."""

    code = ErrorCode.CONFLICT
    STATES_NAME = "States.Timeout"


# ------------------------------------------------------------------------------------ one open checkout per cart


class CheckoutInProgress(CommerceError):
    """The cart already has an open checkout (API.md "Checkout semantics": one at a time per cart). The
    problem names it (`checkoutId`) and `Location` points at it, so the buyer can pay, wait for or cancel it."""

    code = ErrorCode.CHECKOUT_IN_PROGRESS

    def __init__(self, checkout_id: str) -> None:
        super().__init__(
            "This cart already has an open checkout; pay it, wait for it to end, "
            f"or cancel it with POST /checkouts/{checkout_id}/cancel",
            headers={"Location": f"/checkouts/{checkout_id}"},
            extensions={"checkoutId": checkout_id},
        )
        self.checkout_id = checkout_id


class CartLockTaken(CommerceError):
    """A repository's answer to `create`: the cart's open-checkout lock names another checkout than the one
    the caller expected (`holder`, None if it was freed meanwhile). The desk decides what that means."""

    code = ErrorCode.CONFLICT

    def __init__(self, holder: str | None) -> None:
        super().__init__(f"The cart's open checkout is {holder or 'none'}, not the one expected")
        self.holder = holder


class CheckoutNotCancellable(CommerceError):
    """A cancel of a checkout that is paid or already final."""

    code = ErrorCode.INVALID_TRANSITION
