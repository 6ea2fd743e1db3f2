"""The one error a template the local cloud cannot run produces: it names the resource and the property."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class LocalCloudTemplateError(Exception):
    """template.yaml cannot be run locally; the message says where (`Resources.X.Properties.Y`) and why."""

    def __init__(self, message: str, *, location: str | None = None) -> None:
        self.location = location
        self.reason = message
        super().__init__(f"{location}: {message}" if location else message)


def location_of(*parts: str | int) -> str:
    """`("Resources", "Table", "Properties", "KeySchema", 0)` -> `Resources.Table.Properties.KeySchema[0]`."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text = f"{text}.{part}" if text else part
    return text


def integer_at(value: Any, where: tuple[str | int, ...]) -> int:
    """`value` as an integer (CloudFormation passes parameters as text), or an error naming where it is."""
    return _converted(int, "an integer", value, where)


def number_at(value: Any, where: tuple[str | int, ...]) -> float:
    """`value` as a number, or an error naming where it is."""
    return _converted(float, "a number", value, where)


def _converted(kind: Callable[[str], T], description: str, value: Any, where: tuple[str | int, ...]) -> T:
    try:
        return kind(str(value))
    except ValueError:
        raise LocalCloudTemplateError(f"{value!r} is not {description}", location=location_of(*where)) from None
