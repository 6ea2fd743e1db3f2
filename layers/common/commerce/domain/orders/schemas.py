"""The orders endpoints' query filters and the fulfilment body as pydantic models (shared/API.md).

Query strings arrive as strings, so values parse leniently, but unknown parameters, unknown statuses,
malformed emails, timestamps without an offset or outside years 1 to 9999 in UTC, and inverted ranges are
400 VALIDATION_ERROR. A handler combines these filters with `commerce.api.pagination.PageQuery` (`limit`,
`cursor`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from commerce.domain.orders.models import (
    MAX_CARRIER_LENGTH,
    MAX_EMAIL_LENGTH,
    MAX_LINES,
    MAX_TRACKING_NUMBER_LENGTH,
    FulfilmentLine,
    OrderFilters,
    OrderStatus,
)

MAX_SKU_LENGTH = 64  # order_lines_sku_check
MAX_FULFILMENT_QUANTITY = 999_999_999  # what 0005_fulfilments.sql reads as a quantity

EmailFilter = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=MAX_EMAIL_LENGTH, pattern=r"^[^@\s]+@[^@\s]+$"),
]


class OrderSearchFilters(BaseModel):
    """`status`, `email` (case-insensitive), `createdFrom` (inclusive) and `createdTo` (exclusive)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: OrderStatus | None = None
    email: EmailFilter | None = None
    created_from: AwareDatetime | None = Field(None, alias="createdFrom")
    created_to: AwareDatetime | None = Field(None, alias="createdTo")

    @field_validator("status", "email", "created_from", "created_to", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: object) -> object:
        # Search forms send `email=` for an empty box: that is "no filter", not an error.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("created_from", "created_to")
    @classmethod
    def _has_a_stored_instant(cls, value: datetime | None) -> datetime | None:
        # `0001-01-01T00:00:00+14:00` parses, but lies before year 1 in UTC, where orders are kept (and
        # `9999-12-31T23:59:59.9999Z`, rounded up to the millisecond, after 9999): a 400 here, not a crash later.
        try:
            _ceil_to_millisecond(value)
        except OverflowError as error:
            raise ValueError("must be an instant from year 1 to 9999 in UTC") from error
        return value

    @model_validator(mode="after")
    def _range_is_ordered(self) -> OrderSearchFilters:
        if self.created_from and self.created_to and self.created_from >= self.created_to:
            raise ValueError("createdFrom must be before createdTo")
        return self

    def criteria(self) -> OrderFilters:
        return OrderFilters(
            status=self.status,
            email=self.email,
            created_from=_ceil_to_millisecond(self.created_from),
            created_to=_ceil_to_millisecond(self.created_to),
        )

    def cursor_scope(self) -> str:
        """Binds a cursor to the filters it was issued for."""
        criteria = self.criteria()
        parts = (
            criteria.status.value if criteria.status else "",
            (criteria.email or "").lower(),
            criteria.created_from.isoformat() if criteria.created_from else "",
            criteria.created_to.isoformat() if criteria.created_to else "",
        )
        return "admin-orders\x1f" + "\x1f".join(parts)


def _ceil_to_millisecond(moment: datetime | None) -> datetime | None:
    """Orders are stored to the millisecond, so rounding a bound up to it keeps `>=` and `<` exact."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    spare = moment.microsecond % 1000
    return moment if spare == 0 else moment + timedelta(microseconds=1000 - spare)


class FulfilmentLineBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    sku: str = Field(min_length=1, max_length=MAX_SKU_LENGTH)
    quantity: int = Field(ge=1, le=MAX_FULFILMENT_QUANTITY)


class FulfilmentBody(BaseModel):
    """POST /admin/orders/{orderId}/fulfillments: `{"lines": [{"sku", "quantity"}], "carrier"?, "trackingNumber"?}`."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    lines: list[FulfilmentLineBody] = Field(min_length=1, max_length=MAX_LINES)
    carrier: str | None = Field(None, min_length=1, max_length=MAX_CARRIER_LENGTH)
    tracking_number: str | None = Field(
        None, alias="trackingNumber", min_length=1, max_length=MAX_TRACKING_NUMBER_LENGTH
    )

    def fulfilment_lines(self) -> list[FulfilmentLine]:
        """The lines, a SKU listed more than once shipping the sum (in the order SKUs first appear)."""
        units: dict[str, int] = {}
        for line in self.lines:
            units[line.sku] = units.get(line.sku, 0) + line.quantity
        return [FulfilmentLine(sku, quantity) for sku, quantity in units.items()]
