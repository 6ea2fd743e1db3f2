"""The one error a template the local cloud cannot run produces: it names the resource and the property."""

from __future__ import annotations


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
