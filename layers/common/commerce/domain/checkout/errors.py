"""Checkout errors with their stable codes (the HTTP mapping lives with `ErrorCode`)."""

from __future__ import annotations

from commerce.domain.errors import CommerceError, ErrorCode


class CheckoutNotFound(CommerceError):
    code = ErrorCode.NOT_FOUND


class CheckoutChanged(CommerceError):
    """Another writer moved the checkout first (optimistic version check lost)."""

    code = ErrorCode.CONFLICT


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
