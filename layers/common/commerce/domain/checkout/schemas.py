"""What `POST /checkouts` accepts: the strict body (shared/API.md) and the `Idempotency-Key` header.

The body carries only what the customer decides (email, address). Lines, prices and totals come from the
cart and the catalog; a client that sends them gets 400, as for any unknown field. Text is stripped and
bounded, and may not hold control characters (they would end up on a shipping label).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from commerce.domain.checkout.countries import is_country
from commerce.domain.checkout.errors import IDEMPOTENCY_KEY_HEADER, IdempotencyKeyRequired
from commerce.domain.errors import FieldProblem, ValidationFailed
from commerce.domain.orders.models import MAX_EMAIL_LENGTH, ShippingAddress

# Stripe's limit for its own idempotency keys, which are derived from this one.
MAX_IDEMPOTENCY_KEY_LENGTH = 255
_IDEMPOTENCY_KEY = re.compile(rf"^[\x21-\x7e]{{1,{MAX_IDEMPOTENCY_KEY_LENGTH}}}$")  # visible ASCII only

_ONE_LINE = r"^[^\x00-\x1f\x7f]*$"


def _text(max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length, pattern=_ONE_LINE)


def _country(code: str) -> str:
    if not is_country(code):
        raise ValueError("must be an ISO 3166-1 alpha-2 country code such as FR or US")
    return code


Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=MAX_EMAIL_LENGTH, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
    ),
]
Country = Annotated[str, StringConstraints(min_length=2, max_length=2), AfterValidator(_country)]


class ShippingAddressBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    name: Annotated[str, _text(200)]
    line1: Annotated[str, _text(200)]
    line2: Annotated[str, _text(200)] | None = None
    city: Annotated[str, _text(100)]
    postal_code: Annotated[str, _text(20)] = Field(alias="postalCode")
    country: Country

    def address(self) -> ShippingAddress:
        return ShippingAddress(
            name=self.name,
            line1=self.line1,
            line2=self.line2,
            city=self.city,
            postal_code=self.postal_code,
            country=self.country,
        )


class CreateCheckoutRequest(BaseModel):
    """The body of `POST /checkouts`."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    email: Email
    shipping_address: ShippingAddressBody = Field(alias="shippingAddress")

    def canonical(self) -> dict[str, object]:
        """The body as understood (stripped, camelCase, no absent fields): what "the same body" compares."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def optional_idempotency_key(raw: str | None) -> str | None:
    """An optional `Idempotency-Key` header's value: None when absent, 400 VALIDATION_ERROR when blank or malformed."""
    if raw is None:
        return None
    if not raw.strip():
        raise _malformed_key()
    return idempotency_key(raw)


def idempotency_key(raw: str | None) -> str:
    """The `Idempotency-Key` header's value: IDEMPOTENCY_KEY_REQUIRED if absent or blank, 400 if malformed."""
    key = (raw or "").strip()
    if not key:
        raise IdempotencyKeyRequired()
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise _malformed_key()
    return key


def _malformed_key() -> ValidationFailed:
    return ValidationFailed(
        f"The {IDEMPOTENCY_KEY_HEADER} header is not valid",
        errors=[
            FieldProblem(
                field=IDEMPOTENCY_KEY_HEADER,
                code="INVALID",
                message=f"1 to {MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters (a UUID is a good key)",
            )
        ],
    )
