"""A SQL script split into its statements, because the Data API runs one statement per call.

Semicolons end statements only where PostgreSQL would read them as separators: not inside string
literals ('...', E'...' with backslash escapes), quoted identifiers ("..."), dollar-quoted bodies
($$...$$, $tag$...$tag$, as in function definitions) or comments (-- and nested /* */). Chunks that hold
only comments and whitespace are dropped.
"""

from __future__ import annotations

import re

_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_IDENTIFIER_CHAR = re.compile(r"[A-Za-z0-9_$]")


class UnterminatedSql(ValueError):
    """A quote, dollar quote or block comment is never closed: the script is cut off or wrong."""


def split_statements(script: str) -> list[str]:
    statements: list[str] = []
    start = i = 0
    has_code = False
    n = len(script)
    while i < n:
        char = script[i]
        if char == "'":
            i = _quote_end(script, i, "'", escapes=_is_escape_string(script, i))
            has_code = True
        elif char == '"':
            i = _quote_end(script, i, '"', escapes=False)
            has_code = True
        elif char == "$" and (tag := _dollar_tag(script, i)):
            close = script.find(tag, i + len(tag))
            if close < 0:
                raise UnterminatedSql(f"dollar quote {tag} opened at offset {i} is never closed")
            i = close + len(tag)
            has_code = True
        elif script.startswith("--", i):
            newline = script.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif script.startswith("/*", i):
            i = _block_comment_end(script, i)
        elif char == ";":
            if has_code:
                statements.append(script[start:i].strip())
            start, has_code = i + 1, False
            i += 1
        else:
            has_code = has_code or not char.isspace()
            i += 1
    if has_code:
        statements.append(script[start:].strip())
    return statements


def _is_escape_string(sql: str, quote: int) -> bool:
    """E'...' takes backslash escapes; a plain '...' does not (standard_conforming_strings is on)."""
    if quote == 0 or sql[quote - 1] not in "eE":
        return False
    return quote == 1 or not _IDENTIFIER_CHAR.match(sql[quote - 2])


def _quote_end(sql: str, start: int, quote: str, *, escapes: bool) -> int:
    i, n = start + 1, len(sql)
    while i < n:
        if escapes and sql[i] == "\\":
            i += 2
            continue
        if sql[i] == quote:
            if i + 1 < n and sql[i + 1] == quote:  # a doubled quote is the quote character itself
                i += 2
                continue
            return i + 1
        i += 1
    raise UnterminatedSql(f"{quote} opened at offset {start} is never closed")


def _dollar_tag(sql: str, start: int) -> str | None:
    """`$tag$` opening a dollar-quoted string; `$1` or a `$` inside an identifier is not one."""
    if start > 0 and _IDENTIFIER_CHAR.match(sql[start - 1]):
        return None
    match = _DOLLAR_TAG.match(sql, start)
    return match.group() if match else None


def _block_comment_end(sql: str, start: int) -> int:
    """PostgreSQL block comments nest."""
    depth, i, n = 0, start, len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise UnterminatedSql(f"block comment opened at offset {start} is never closed")
