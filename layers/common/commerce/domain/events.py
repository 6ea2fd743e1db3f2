"""The domain events this backend publishes, and the version of each one's `detail`.

Every event goes to the stack's EventBridge bus with `source` `commerce` and `detail-type` one of the names
below; its `detail` carries `version` (an integer) and the ids it is about. The shape of each detail-type's
`detail` is a JSON Schema in `events/schemas/<detail-type>.json`, whose `version` is the one here.

A version moves only when a change could break a consumer (a field removed, renamed or retyped, a meaning
changed); a new optional field keeps it. Consumers match on `detail-type` and read `detail.version` before they
read the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

ORDER_PLACED = "OrderPlaced"  # a checkout completed: its order is PAID
PAYMENT_FAILED = "PaymentFailed"  # a checkout failed: declined, refused or not paid in time
CHECKOUT_EXPIRED = "CheckoutExpired"  # a checkout was not processed, or not paid, before its reservation expired
CHECKOUT_CANCELLED = "CheckoutCancelled"  # the buyer cancelled an open checkout
PAYMENT_REFUNDED = "PaymentRefunded"  # money went back to the customer (a late payment, an operator's refund)

VERSIONS: Mapping[str, int] = MappingProxyType(
    {
        ORDER_PLACED: 1,
        PAYMENT_FAILED: 1,
        CHECKOUT_EXPIRED: 1,
        CHECKOUT_CANCELLED: 1,
        PAYMENT_REFUNDED: 1,
    }
)


def versioned(detail_type: str, detail: Mapping[str, object]) -> dict[str, object]:
    """The `detail` as published: its version first. An event not in VERSIONS is a programming error."""
    if detail_type not in VERSIONS:
        raise ValueError(f"{detail_type} is not a domain event: add it to commerce.domain.events with its schema")
    return {"version": VERSIONS[detail_type], **detail}
