"""The local Data API's pure parts: named parameters in SQL, PostgreSQL array literals, timestamptz in UTC."""

from __future__ import annotations

import pytest

from localcloud.orders_db.errors import BadRequestException
from localcloud.orders_db.named_params import compile_statement
from localcloud.orders_db.parameters import (
    BigintParameter,
    TimestampParameter,
    VarcharParameter,
    bind_parameters,
)
from localcloud.orders_db.results import parse_array, utc_timestamp

pytestmark = pytest.mark.localcloud


def test_named_parameters_become_placeholders_and_percent_signs_are_escaped() -> None:
    # Given SQL with a repeated parameter, a cast and a modulo
    sql = "SELECT :a::int + :b, :a, 5 % 2"

    # When it is compiled for the supplied names
    compiled = compile_statement(sql, {"a", "b"})

    # Then each name is a psycopg placeholder, the cast survives and % is doubled for psycopg
    assert compiled.query == "SELECT %(a)s::int + %(b)s, %(a)s, 5 %% 2"
    assert compiled.names == ("a", "b")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT ':a'",
        "SELECT E'it\\'s :a'",
        'SELECT "col:a" FROM t',
        "SELECT $$ :a $$",
        "SELECT $body$ :a $body$",
        "SELECT 1 -- :a",
        "SELECT /* outer /* :a */ :a */ 1",
    ],
)
def test_names_inside_literals_identifiers_and_comments_are_left_alone(sql: str) -> None:
    # Given SQL whose only ":a" is inside a literal, a quoted identifier or a comment
    # When it is compiled with "a" supplied
    compiled = compile_statement(sql, {"a"})

    # Then nothing is replaced and the SQL is sent untouched
    assert compiled.query == sql
    assert not compiled.has_parameters


def test_names_not_supplied_are_left_for_postgresql() -> None:
    # Given an array slice whose bounds look like parameters, and one real parameter
    sql = "SELECT tags[lo:hi] FROM t WHERE id = :id"

    # When only "id" is supplied
    compiled = compile_statement(sql, {"id"})

    # Then only :id is replaced
    assert compiled.query == "SELECT tags[lo:hi] FROM t WHERE id = %(id)s"


def test_parameters_are_typed_as_the_data_api_sends_them() -> None:
    # Given a string, a long and a hinted timestamp
    parameters = [
        {"name": "s", "value": {"stringValue": "x"}},
        {"name": "n", "value": {"longValue": 7}},
        {"name": "t", "value": {"stringValue": "2024-02-29 13:45:30.5"}, "typeHint": "TIMESTAMP"},
        {"name": "none", "value": {"isNull": True}},
    ]

    # When they are bound
    bound = bind_parameters(parameters)

    # Then they carry varchar, bigint and timestamp types, and NULL is None
    assert bound == {
        "s": VarcharParameter("x"),
        "n": BigintParameter("7"),
        "t": TimestampParameter("2024-02-29 13:45:30.5"),
        "none": None,
    }


@pytest.mark.parametrize(
    ("value", "type_hint"),
    [
        ({"stringValue": "2024-02-29T13:45:30Z"}, "TIMESTAMP"),
        ({"stringValue": "29/02/2024"}, "DATE"),
        ({"stringValue": "1,5"}, "DECIMAL"),
        ({"stringValue": "x"}, "INTERVAL"),
        ({"arrayValue": {"longValues": [1]}}, None),
        ({"stringValue": "x", "longValue": 1}, None),
        ({}, None),
    ],
)
def test_malformed_parameters_are_bad_requests(value: dict[str, object], type_hint: str | None) -> None:
    # Given a parameter the Data API refuses
    parameter: dict[str, object] = {"name": "p", "value": value}
    if type_hint:
        parameter["typeHint"] = type_hint

    # When it is bound / Then it is a BadRequestException
    with pytest.raises(BadRequestException):
        bind_parameters([parameter])


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("{}", []),
        ("{1,2,NULL}", ["1", "2", None]),
        ('{"a b","x\\"y",NULL,"NULL"}', ["a b", 'x"y', None, "NULL"]),
        ("{{1,2},{3,4}}", [["1", "2"], ["3", "4"]]),
        ("[0:1]={7,8}", ["7", "8"]),
    ],
)
def test_array_literals_parse_into_nested_lists(literal: str, expected: list[object]) -> None:
    # Given a PostgreSQL array literal
    # When it is parsed
    # Then elements are strings, unquoted NULL is None and a quoted "NULL" is a string
    assert parse_array(literal) == expected


def test_array_literals_use_the_element_types_delimiter() -> None:
    # Given an array of boxes, whose delimiter is ";"
    # When it is parsed with that delimiter
    # Then the commas inside each box are kept
    assert parse_array("{(1,1),(0,0);(2,2),(1,1)}", ";") == ["(1,1),(0,0)", "(2,2),(1,1)"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-29 13:45:30+00", "2024-02-29 13:45:30"),
        ("2024-02-29 13:45:30.25+00", "2024-02-29 13:45:30.25"),
        ("2024-03-01 01:15:30+05:30", "2024-02-29 19:45:30"),
        ("2024-02-29 23:00:00-02", "2024-03-01 01:00:00"),
        ("infinity", "infinity"),
    ],
)
def test_timestamptz_values_are_reported_in_utc_without_offset(text: str, expected: str) -> None:
    # Given a timestamptz in PostgreSQL's output form
    # When it is converted for the Data API
    # Then it is the same instant in UTC, without an offset
    assert utc_timestamp(text) == expected
