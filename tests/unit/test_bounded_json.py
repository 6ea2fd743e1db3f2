"""Outside JSON with a nesting limit: bombs are a ValueError (TooDeep), never a RecursionError."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce import bounded_json
from commerce.bounded_json import MAX_DEPTH, TooDeep


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_documents_up_to_the_limit_parse_like_json_loads() -> None:
    # Given a document nested exactly MAX_DEPTH deep, and an ordinary object
    for text in (nested(MAX_DEPTH), '{"a": [1, {"b": "c"}], "d": null}'):
        # When parsed, Then the result is json.loads'
        assert bounded_json.loads(text) == json.loads(text)


@pytest.mark.parametrize("text", [nested(MAX_DEPTH + 1), "[" * 50_000, "{" * 50_000, '{"a":' * 50_000])
def test_deeper_documents_and_bombs_are_refused_before_parsing(text: str) -> None:
    # Given / When a document one level too deep or a nesting bomb is parsed / Then TooDeep, a ValueError
    with pytest.raises(TooDeep):
        bounded_json.loads(text)
    with pytest.raises(ValueError, match="nests deeper"):
        bounded_json.check_depth(text.encode())


def test_brackets_inside_strings_do_not_count() -> None:
    # Given a shallow document whose strings hold many brackets, some after escaped quotes
    text = json.dumps({"a": "[" * 1000, "b": '\\"{{{{' + "{" * 1000})
    # When parsed, Then it is accepted
    assert bounded_json.loads(text) == json.loads(text)


def test_unterminated_strings_and_escapes_are_malformed_not_hangs() -> None:
    # Given text made of many escaped quotes that never close (a pattern that backtracks would retry each quote)
    text = '"' + '\\"' * 30_000 + "\\"
    # When parsed, Then it is an ordinary ValueError (malformed JSON)
    with pytest.raises(json.JSONDecodeError):
        bounded_json.loads(text)


@given(st.text(alphabet='[]{}"\\ a,:1', max_size=2000))
def test_no_text_raises_anything_but_value_error(text: str) -> None:
    # Given any text of brackets, quotes and escapes, When parsed, Then it parses or raises a ValueError
    try:
        bounded_json.loads(text)
    except ValueError:
        return
