"""Configuration read once per cold start into one validated settings object per function.

Each function declares a `Settings` subclass naming exactly the variables it needs; `load_settings`
validates them from the environment (once, cached) and fails the cold start with a clear message.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

S = TypeVar("S", bound="FunctionSettings")


class FunctionSettings(BaseModel):
    """Field aliases are environment variable names (TABLE_NAME, ...)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


@cache
def load_settings(cls: type[S]) -> S:
    return cls.model_validate(dict(os.environ))
