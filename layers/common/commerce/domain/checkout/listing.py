"""The operators' list of checkouts (`GET /admin/checkouts`): newest first, filtered by status and creation time.

A listing reads an index, not the records: `CheckoutSummary` is what the index holds of a checkout (the
checkout's API shape, shared/API.md). Operators see checkouts through `operator_view`: without the payment's
`clientSecret`, which lets whoever holds it pay (and is the buyer's alone). `CheckoutListFilters` is the
query string's filters; unknown parameters and statuses, timestamps without an offset and inverted ranges are
400 VALIDATION_ERROR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from commerce.domain.checkout.models import CheckoutStatus
from commerce.domain.sessions.models import rfc3339


@dataclass(frozen=True)
class CheckoutSummary:
    """A checkout as the listing shows it: the checkout shape of the API, as stored in the listing index."""

    checkout_id: str
    order_id: str
    status: CheckoutStatus
    total: dict[str, Any]
    payment: dict[str, Any] | None
    failure: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "checkoutId": self.checkout_id,
            "orderId": self.order_id,
            "status": self.status.value,
            "total": self.total,
            "payment": self.payment,
            "failure": self.failure,
            "createdAt": rfc3339(self.created_at),
            "updatedAt": rfc3339(self.updated_at),
        }


def operator_view(checkout: dict[str, Any]) -> dict[str, Any]:
    """The checkout's API shape as operators see it: the payment without its `clientSecret`."""
    payment = checkout.get("payment")
    if payment is None:
        return checkout
    return {**checkout, "payment": {k: v for k, v in payment.items() if k != "clientSecret"}}


class CheckoutListFilters(BaseModel):
    """`status`, `createdFrom` (inclusive) and `createdTo` (exclusive); blank values mean no filter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: CheckoutStatus | None = None
    created_from: AwareDatetime | None = Field(None, alias="createdFrom")
    created_to: AwareDatetime | None = Field(None, alias="createdTo")

    @field_validator("status", "created_from", "created_to", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("created_from", "created_to")
    @classmethod
    def _within_stored_years(cls, value: datetime | None) -> datetime | None:
        # Keys hold RFC 3339 in UTC: an instant outside years 1-9999 in UTC could not be compared with them.
        if value is not None:
            try:
                rfc3339(value)
            except (OverflowError, ValueError) as error:
                raise ValueError("must be an instant from year 1 to 9999 in UTC") from error
        return value

    @model_validator(mode="after")
    def _range_is_ordered(self) -> CheckoutListFilters:
        if self.created_from and self.created_to and self.created_from >= self.created_to:
            raise ValueError("createdFrom must be before createdTo")
        return self

    def cursor_scope(self) -> str:
        """What a cursor of this listing is bound to: its filters."""
        parts = (
            self.status.value if self.status else "",
            rfc3339(self.created_from) if self.created_from else "",
            rfc3339(self.created_to) if self.created_to else "",
        )
        return "admin-checkouts|" + "|".join(parts)


@dataclass(frozen=True)
class CheckoutPage:
    checkouts: Sequence[CheckoutSummary]
    next_position: str | None  # where the next page starts (an opaque index position), None at the end


class CheckoutListing(Protocol):
    def page(self, filters: CheckoutListFilters, limit: int, after: str | None) -> CheckoutPage:
        """Up to `limit` checkouts matching `filters`, newest first, after position `after`. A page may hold
        fewer than `limit` (even none) and still have a next position: follow it until it is None."""
        ...
