"""Named Data API parameters (`:name`) rewritten into psycopg placeholders (`%(name)s`).

The Data API lets SQL refer to parameters by name. Only names the request supplies are replaced, and only
where PostgreSQL would read them as tokens: never inside string literals, quoted identifiers, dollar-quoted
bodies or comments, and never the second half of a `::` cast. A `:name` the request does not supply is left
for PostgreSQL to reject, so an array slice such as `a[lo:hi]` keeps working.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_IDENTIFIER_CHAR = re.compile(r"[A-Za-z0-9_$]")


@dataclass(frozen=True)
class _Placeholder:
    name: str

    @property
    def placeholder(self) -> str:
        return f"%({self.name})s"


@dataclass(frozen=True)
class CompiledStatement:
    query: str  # for psycopg: placeholders as %(name)s and every literal % doubled, or the SQL untouched
    names: tuple[str, ...]  # the supplied names the SQL uses, in order of first use

    @property
    def has_parameters(self) -> bool:
        return bool(self.names)


def compile_statement(sql: str, names: Collection[str]) -> CompiledStatement:
    """Rewrite every `:name` in `sql` whose name is in `names`."""
    out: list[str | _Placeholder] = []
    used: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char == "'":
            end = _string_end(sql, i, escapes=_is_escape_string(sql, i))
            out.append(sql[i:end])
            i = end
        elif char == '"':
            end = _quoted_end(sql, i, '"')
            out.append(sql[i:end])
            i = end
        elif char == "$" and (tag := _dollar_tag(sql, i)):
            close = sql.find(tag, i + len(tag))
            end = n if close < 0 else close + len(tag)
            out.append(sql[i:end])
            i = end
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            end = n if newline < 0 else newline
            out.append(sql[i:end])
            i = end
        elif sql.startswith("/*", i):
            end = _block_comment_end(sql, i)
            out.append(sql[i:end])
            i = end
        elif sql.startswith("::", i):
            out.append("::")
            i += 2
        elif char == ":" and (match := _NAME.match(sql, i + 1)) and match.group() in names:
            name = match.group()
            out.append(_Placeholder(name))
            if name not in used:
                used.append(name)
            i = match.end()
        else:
            out.append(char)
            i += 1
    if not used:
        # Without parameters psycopg sends the text as is (and may run several statements in one call).
        return CompiledStatement(sql, ())
    query = "".join(part.placeholder if isinstance(part, _Placeholder) else part.replace("%", "%%") for part in out)
    return CompiledStatement(query, tuple(used))


def _is_escape_string(sql: str, quote: int) -> bool:
    """E'...' strings take backslash escapes; a plain '...' does not (standard_conforming_strings)."""
    if quote == 0 or sql[quote - 1] not in "eE":
        return False
    return quote == 1 or not _IDENTIFIER_CHAR.match(sql[quote - 2])


def _string_end(sql: str, start: int, *, escapes: bool) -> int:
    i, n = start + 1, len(sql)
    while i < n:
        if escapes and sql[i] == "\\":
            i += 2
            continue
        if sql[i] == "'":
            if i + 1 < n and sql[i + 1] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _quoted_end(sql: str, start: int, quote: str) -> int:
    i, n = start + 1, len(sql)
    while i < n:
        if sql[i] == quote:
            if i + 1 < n and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n


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
    return n
