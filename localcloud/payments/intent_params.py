"""The parameters of a PaymentIntent as Stripe validates them: names accepted, amount, currency, methods.

Stripe accepts many more parameters than the sandbox models. Those it can store or safely ignore are
listed here; any other is refused with `parameter_unknown`, so code never relies on something the sandbox
silently dropped.
"""

from __future__ import annotations

import re
from typing import Any

from localcloud.payments.errors import invalid_request, parameter_missing
from localcloud.payments.money import MAXIMUM, format_amount, minimum_amount
from localcloud.payments.params import (
    optional_bool,
    optional_choice,
    optional_dict,
    optional_str,
    optional_str_list,
    required_int,
    required_str,
)

# Stored on the intent as given.
PASSTHROUGH = (
    "customer",
    "payment_method_options",
    "receipt_email",
    "setup_future_usage",
    "shipping",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "transfer_group",
)
# Accepted with no effect here: redirects, SDK hints and mandates only matter to methods the sandbox lacks.
IGNORED = ("expand", "return_url", "off_session", "error_on_requires_action", "use_stripe_sdk", "mandate_data")
CREATE_INTENT = (
    "amount",
    "currency",
    "metadata",
    "description",
    "payment_method_types",
    "automatic_payment_methods",
    "capture_method",
    "confirmation_method",
    "confirm",
    "payment_method",
    *PASSTHROUGH,
    *IGNORED,
)
UPDATE_INTENT = (
    "amount",
    "currency",
    "metadata",
    "description",
    "payment_method",
    "payment_method_types",
    *PASSTHROUGH,
    "expand",
)
CONFIRM_INTENT = ("payment_method", "client_secret", "capture_method", *PASSTHROUGH, *IGNORED)

_CAPTURE_METHODS = ("automatic", "automatic_async")
_CURRENCY = re.compile(r"^[a-z]{3}$")


def read_currency(params: dict[str, Any]) -> str:
    currency = required_str(params, "currency").lower()
    if not _CURRENCY.match(currency):
        raise invalid_request(f"Invalid currency: {currency}.", param="currency")
    return currency


def read_amount(params: dict[str, Any], currency: str) -> int:
    amount = required_int(params, "amount")
    if amount < 1:
        raise invalid_request(
            "This value must be greater than or equal to 1.", param="amount", code="parameter_invalid_integer"
        )
    if amount < minimum_amount(currency):
        raise invalid_request(
            f"Amount must be at least {format_amount(minimum_amount(currency), currency)}",
            param="amount",
            code="amount_too_small",
        )
    if amount > MAXIMUM:
        raise invalid_request(
            f"Amount must be no more than {format_amount(MAXIMUM, currency)}", param="amount", code="amount_too_large"
        )
    return amount


def read_capture_method(params: dict[str, Any]) -> str | None:
    if optional_str(params, "capture_method") == "manual":
        raise invalid_request(
            "capture_method=manual (separate authorisation and capture) is not supported by the local payments "
            "sandbox.",
            param="capture_method",
        )
    return optional_choice(params, "capture_method", _CAPTURE_METHODS)


def read_payment_method_types(params: dict[str, Any]) -> tuple[list[str], dict[str, Any] | None]:
    """`payment_method_types` and the `automatic_payment_methods` object to render (None when off)."""
    types = optional_str_list(params, "payment_method_types")
    automatic = optional_dict(params, "automatic_payment_methods")
    enabled = _automatic_enabled(automatic)
    if types is not None and enabled:
        raise invalid_request(
            "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
            param="automatic_payment_methods",
            code="parameters_exclusive",
        )
    if types is not None:
        return types, None
    if automatic is None:
        enabled = True  # Stripe's current API versions turn automatic payment methods on when no types are given
    return ["card"], _automatic_shape(automatic) if enabled else None


def passthrough(params: dict[str, Any]) -> dict[str, Any]:
    return {name: params[name] for name in PASSTHROUGH if name in params and params[name] != ""}


def _automatic_enabled(automatic: dict[str, Any] | None) -> bool:
    if automatic is None:
        return False
    enabled = optional_bool(automatic, "enabled")
    if enabled is None:
        raise parameter_missing("automatic_payment_methods[enabled]")
    return enabled


def _automatic_shape(automatic: dict[str, Any] | None) -> dict[str, Any]:
    allow = (automatic or {}).get("allow_redirects") or "always"
    if allow not in ("always", "never"):
        raise invalid_request(
            "Invalid automatic_payment_methods[allow_redirects]: must be one of always, never",
            param="automatic_payment_methods[allow_redirects]",
        )
    return {"allow_redirects": allow, "enabled": True}
