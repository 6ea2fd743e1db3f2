"""The order lifecycle of shared/API.md as one explicit table: (status, action) -> next status.

    PENDING_PAYMENT --pay--> PAID --fulfill--> FULFILLED --refund--> REFUNDED
    PAID --fulfill-part--> PARTIALLY_FULFILLED --fulfill-part--> PARTIALLY_FULFILLED --fulfill--> FULFILLED
    PENDING_PAYMENT --cancel--> CANCELLED      PAID --refund--> REFUNDED
    PAID --cancel (refunds)--> CANCELLED
    PAID, PARTIALLY_FULFILLED or FULFILLED --request-refund--> REFUND_PENDING --refund--> REFUNDED
                                          REFUND_PENDING --cancel--> CANCELLED
    REFUND_PENDING, REFUNDED or CANCELLED --fail-refund--> REFUND_FAILED

A fulfilment ships some units (commerce.domain.orders.fulfilments): `fulfill` when it ships every unit left,
`fulfill-part` otherwise, which keeps a PARTIALLY_FULFILLED order where it is (the one transition from a status
to itself, so that each fulfilment is a recorded status event the database can check).

Operators' refunds and cancels of paid orders take the REFUND_PENDING path: the order moves before the
provider is asked, and the provider's answer moves it on (commerce.domain.payments.refunds). The direct
edges remain for callers that hold the provider's answer already.

`fail-refund` is the provider's word, never an operator's: it refused the refund (REFUND_PENDING), or the
refund it had accepted failed later (REFUNDED, or CANCELLED with a refund), so the money did not go back.

CANCELLED, REFUNDED and REFUND_FAILED are final: no operator action leaves them (only `fail-refund` leaves
the first two). Anything not in the table is 409 INVALID_TRANSITION. The database holds the same table
(order_status_transitions, db/migrations/0001_orders.sql, 0002_refund_pending.sql, 0003_refund_failed.sql,
0005_fulfilments.sql)
and refuses any other status change; a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from commerce.domain.orders.errors import InvalidTransition
from commerce.domain.orders.models import OrderAction, OrderStatus

_S = OrderStatus
_A = OrderAction

TRANSITIONS: Mapping[tuple[OrderStatus, OrderAction], OrderStatus] = MappingProxyType(
    {
        (_S.PENDING_PAYMENT, _A.PAY): _S.PAID,
        (_S.PENDING_PAYMENT, _A.CANCEL): _S.CANCELLED,
        (_S.PAID, _A.FULFILL): _S.FULFILLED,
        (_S.PAID, _A.FULFILL_PART): _S.PARTIALLY_FULFILLED,
        (_S.PARTIALLY_FULFILLED, _A.FULFILL_PART): _S.PARTIALLY_FULFILLED,
        (_S.PARTIALLY_FULFILLED, _A.FULFILL): _S.FULFILLED,
        (_S.PARTIALLY_FULFILLED, _A.REQUEST_REFUND): _S.REFUND_PENDING,
        (_S.PAID, _A.REFUND): _S.REFUNDED,
        (_S.PAID, _A.CANCEL): _S.CANCELLED,
        (_S.FULFILLED, _A.REFUND): _S.REFUNDED,
        (_S.PAID, _A.REQUEST_REFUND): _S.REFUND_PENDING,
        (_S.FULFILLED, _A.REQUEST_REFUND): _S.REFUND_PENDING,
        (_S.REFUND_PENDING, _A.REFUND): _S.REFUNDED,
        (_S.REFUND_PENDING, _A.CANCEL): _S.CANCELLED,
        (_S.REFUND_PENDING, _A.FAIL_REFUND): _S.REFUND_FAILED,
        (_S.REFUNDED, _A.FAIL_REFUND): _S.REFUND_FAILED,
        (_S.CANCELLED, _A.FAIL_REFUND): _S.REFUND_FAILED,
    }
)

INITIAL_STATUS = OrderStatus.PENDING_PAYMENT
FINAL_STATUSES = frozenset({OrderStatus.CANCELLED, OrderStatus.REFUNDED, OrderStatus.REFUND_FAILED})


def next_status(order_id: str, current: OrderStatus, action: OrderAction) -> OrderStatus:
    """The status `action` moves an order in `current` to, or InvalidTransition."""
    target = TRANSITIONS.get((current, action))
    if target is None:
        raise InvalidTransition(order_id, current, action)
    return target


def status_changes() -> frozenset[tuple[OrderStatus, OrderStatus]]:
    """Every (from, to) the lifecycle allows, whatever the action: what the database's table must hold."""
    return frozenset((current, target) for (current, _), target in TRANSITIONS.items())


def actions_from(status: OrderStatus) -> frozenset[OrderAction]:
    return frozenset(action for (current, action) in TRANSITIONS if current is status)
