"""Typed reads of decoded form params with Stripe's validation errors (missing, unknown, invalid)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from localcloud.payments.errors import invalid_request, parameter_missing, parameter_unknown

METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500


def reject_unknown(params: dict[str, Any], allowed: Collection[str]) -> None:
    for name in params:
        if name not in allowed:
            raise parameter_unknown(name)


def optional_str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise invalid_request(f"Invalid string: {name} must be a string.", param=name)
    return value


def required_str(params: dict[str, Any], name: str) -> str:
    value = optional_str(params, name)
    if value is None:
        raise parameter_missing(name)
    return value


def optional_int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.lstrip("-").isdigit():
        raise invalid_request(f"Invalid integer: {value}", param=name, code="parameter_invalid_integer")
    return int(value)


def required_int(params: dict[str, Any], name: str) -> int:
    value = optional_int(params, name)
    if value is None:
        raise parameter_missing(name)
    return value


def optional_bool(params: dict[str, Any], name: str) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if value not in ("true", "false"):
        raise invalid_request(f"Invalid boolean: {value}", param=name)
    return value == "true"


def optional_choice(params: dict[str, Any], name: str, choices: Collection[str]) -> str | None:
    value = optional_str(params, name)
    if value is not None and value not in choices:
        raise invalid_request(f"Invalid {name}: must be one of {', '.join(sorted(choices))}", param=name)
    return value


def optional_str_list(params: dict[str, Any], name: str) -> list[str] | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise invalid_request(f"Invalid array: {name} must be a list of strings.", param=name)
    return list(value)


def optional_dict(params: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise invalid_request(f"Invalid object: {name} must be a hash.", param=name)
    return value


def metadata_update(params: dict[str, Any], current: dict[str, str]) -> dict[str, str]:
    """Stripe's metadata semantics: keys merge into the current set, "" unsets one key, `metadata=""` unsets all."""
    if "metadata" not in params:
        return dict(current)
    raw = params["metadata"]
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise invalid_request("Invalid object: metadata must be a hash of string keys and values.", param="metadata")
    merged = dict(current)
    for key, value in raw.items():
        if not isinstance(value, str):
            raise invalid_request(
                f"Invalid metadata value for key {key!r}: must be a string.", param=f"metadata[{key}]"
            )
        if len(key) > METADATA_KEY_MAX:
            raise invalid_request(
                f"Metadata keys can have up to {METADATA_KEY_MAX} characters.", param=f"metadata[{key}]"
            )
        if len(value) > METADATA_VALUE_MAX:
            raise invalid_request(
                f"Metadata values can have up to {METADATA_VALUE_MAX} characters.", param=f"metadata[{key}]"
            )
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > METADATA_MAX_KEYS:
        raise invalid_request(f"Metadata can have up to {METADATA_MAX_KEYS} keys.", param="metadata")
    return merged
