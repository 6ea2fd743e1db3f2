"""Migration scripts split into single statements (the Data API runs one per call), quotes and bodies intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from commerce.adapters.orders_db.sql_script import UnterminatedSql, split_statements

MIGRATIONS = Path(__file__).resolve().parents[2] / "db" / "migrations"


def test_semicolons_inside_quotes_bodies_and_comments_do_not_split() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE "we;ird" (a text DEFAULT 'x;y', b text DEFAULT E'it\\'s;');
    /* block; /* nested; */ still comment; */
    CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $body$
    BEGIN RAISE EXCEPTION 'no; way'; END
    $body$;
    SELECT $$a;b$$, 'it''s; fine', $1;
    ;;
    SELECT 2
    """
    statements = split_statements(script)
    assert len(statements) == 4
    assert statements[0].endswith("""b text DEFAULT E'it\\'s;')""")
    assert "RAISE EXCEPTION 'no; way'; END\n    $body$" in statements[1]
    assert statements[2] == "SELECT $$a;b$$, 'it''s; fine', $1"
    assert statements[3] == "SELECT 2"


def test_comment_only_chunks_are_dropped() -> None:
    assert split_statements("-- nothing here;\n/* nor; here */ ;\n") == []


@pytest.mark.parametrize("script", ["SELECT 'open", 'SELECT "open', "SELECT $x$ open", "/* open"])
def test_unterminated_quotes_are_errors_not_statements(script: str) -> None:
    with pytest.raises(UnterminatedSql):
        split_statements(script)


def test_every_migration_splits_into_statements() -> None:
    # Given the project's migrations, Then each splits into whole statements (none empty, none cut in a body)
    for path in sorted(MIGRATIONS.glob("*.sql")):
        statements = split_statements(path.read_text())
        assert statements, path.name
        for statement in statements:
            assert statement.count("$$") % 2 == 0, (path.name, statement[:60])
