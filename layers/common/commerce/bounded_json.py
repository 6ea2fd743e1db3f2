"""JSON from outside (request bodies, webhook events, cursors) parsed with a nesting limit.

`json.loads` recurses once per `[` or `{`: a body of 50,000 `[` raises `RecursionError`, which is no
`ValueError` and would surface as a 500. `check_depth` counts the nesting before anything is parsed (brackets
inside strings do not count), and `loads` refuses what is too deep with `TooDeep`, a `ValueError`, so callers
treat it as any other malformed JSON. No document this API accepts nests anywhere near `MAX_DEPTH`.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32

# A string runs to its closing quote or, unterminated, to the end: every match succeeds at its first quote, so the
# scan stays linear whatever the input (a pattern that could fail would retry at every later quote).
_STRING = re.compile(rb'"(?:[^"\\]|\\.?)*(?:"|\Z)', re.DOTALL)
_NOT_A_BRACKET = re.compile(rb"[^\[\]{}]+")


class TooDeep(ValueError):
    """The JSON nests deeper than allowed."""


def check_depth(data: bytes, max_depth: int = MAX_DEPTH) -> None:
    """TooDeep when `data`, read as JSON, opens more than `max_depth` arrays or objects inside each other."""
    brackets = _NOT_A_BRACKET.sub(b"", _STRING.sub(b"", data))
    depth = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            if depth > max_depth:
                raise TooDeep(f"The JSON nests deeper than {max_depth} levels")
        else:
            depth -= 1


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads` of `data`, or ValueError (TooDeep among them) for anything malformed or too deep."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    check_depth(raw, max_depth)
    try:
        return json.loads(raw)
    except RecursionError as error:  # belt and braces: check_depth should have refused it first
        raise TooDeep("The JSON nests too deeply") from error
