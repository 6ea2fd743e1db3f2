"""Errors of the orders domain, each with its stable code from the HTTP contract."""

from __future__ import annotations

from typing import TYPE_CHECKING

from commerce.domain.errors import CommerceError, Conflict, ErrorCode, FieldProblem, NotFound

if TYPE_CHECKING:
    from commerce.domain.orders.models import OrderAction, OrderStatus


class OrderNotFound(NotFound):
    """No such order, or (for a storefront caller) it belongs to someone else: the same answer for both."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"There is no order {order_id!r}")
        self.order_id = order_id


class InvalidTransition(CommerceError):
    code = ErrorCode.INVALID_TRANSITION

    def __init__(self, order_id: str, status: OrderStatus, action: OrderAction, reason: str | None = None) -> None:
        detail = f"Order {order_id} is {status.value}; it cannot {action.value}"
        super().__init__(f"{detail}: {reason}" if reason else detail)
        self.order_id = order_id
        self.status = status
        self.action = action


class OverFulfilled(CommerceError):
    """A fulfilment would ship more of a SKU than the order has left to ship (or a SKU it does not hold);
    `errors` names each such line."""

    code = ErrorCode.OVER_FULFILLED

    def __init__(self, order_id: str, problems: list[FieldProblem]) -> None:
        super().__init__(f"Order {order_id} has fewer units left to ship", errors=problems)
        self.order_id = order_id


class OrderIdTaken(Conflict):
    """An order id the checkout assigned already names the order of another checkout (never expected)."""

    def __init__(self, order_id: str, checkout_id: str) -> None:
        super().__init__(f"Order id {order_id} already belongs to a checkout other than {checkout_id}")


class OrderChangedConcurrently(Conflict):
    """Every attempt lost a race with another change of the same order; the caller may retry."""

    def __init__(self, order_id: str, attempts: int) -> None:
        super().__init__(f"Order {order_id} kept changing concurrently ({attempts} attempts); retry")


class OrdersDatabaseResuming(CommerceError):
    """The orders database (Aurora Serverless v2, auto-paused) did not resume within this request's budget."""

    code = ErrorCode.DATABASE_RESUMING

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(
            f"The orders database is resuming from a pause; retry in {retry_after_seconds} seconds",
            headers={"Retry-After": str(retry_after_seconds)},
        )
        self.retry_after_seconds = retry_after_seconds


class OrdersDatabaseError(CommerceError):
    """The orders database refused a statement for a reason that is a fault on our side (logged, 500)."""

    code = ErrorCode.INTERNAL
