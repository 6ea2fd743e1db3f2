"""Stripe's form encoding: `metadata[order_id]=x`, `payment_method_types[0]=card`, `expand[]=latest_charge`.

Stripe's v1 API takes `application/x-www-form-urlencoded` bodies (and query strings) whose keys nest with
brackets. `decode_form` turns the pairs into nested dicts and lists; `fingerprint` gives the canonical form
the idempotency layer compares ("same parameters").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from localcloud.payments.errors import invalid_request

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
# Metadata keys are free text chosen by the caller: "0", "1" there are keys, not list indexes.
_FREE_FORM = frozenset({"metadata"})


def decode_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nested params from decoded form pairs. Raises ApiError (400) for keys Stripe would reject."""
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        match = _KEY.match(raw_key)
        if not match:
            raise invalid_request(f"Invalid request: malformed parameter name {raw_key!r}.", param=raw_key)
        path = [match.group(1), *_SEGMENT.findall(match.group(2))]
        _insert(root, path, value, raw_key)
    return {key: _listify(value, key) for key, value in root.items()}


def _insert(node: dict[str, Any], path: list[str], value: str, raw_key: str) -> None:
    *parents, leaf = path
    for segment in parents:
        segment = segment if segment != "" else str(_next_index(node))
        child = node.setdefault(segment, {})
        if not isinstance(child, dict):
            raise invalid_request(f"Invalid request: {raw_key!r} mixes a value and nested keys.", param=raw_key)
        node = child
    leaf = leaf if leaf != "" else str(_next_index(node))
    if isinstance(node.get(leaf), dict):
        raise invalid_request(f"Invalid request: {raw_key!r} mixes a value and nested keys.", param=raw_key)
    node[leaf] = value


def _next_index(node: dict[str, Any]) -> int:
    return sum(1 for key in node if key.isdigit())


def _listify(value: Any, name: str) -> Any:
    """Dicts keyed only by indexes become lists (in index order), except under free-form keys."""
    if not isinstance(value, dict):
        return value
    if name in _FREE_FORM:
        return value
    children = {key: _listify(child, key) for key, child in value.items()}
    if children and all(key.isdigit() for key in children):
        return [children[key] for key in sorted(children, key=int)]
    return children


def fingerprint(method: str, path: str, params: dict[str, Any]) -> str:
    """What makes two requests "the same" for an idempotency key: endpoint and parameters, order aside."""
    return json.dumps([method.upper(), path, params], sort_keys=True, separators=(",", ":"))
