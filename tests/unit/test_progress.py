"""Progress bars (devcloud.progress) draw only for a person at a terminal: never into logs or test output."""

from __future__ import annotations

import io

import pytest

from devcloud import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_under_pytest_the_bar_is_a_counter_that_draws_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with progress.progress_bar("loading", 3) as advance:
        advance(3)
    assert advance is progress.no_progress
    assert capsys.readouterr() == ("", "")


def test_at_a_terminal_outside_tests_it_draws_on_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    assert progress.shown()
    with progress.progress_bar("loading", 3) as advance:
        advance(3)
    assert "loading" in terminal.getvalue()


def test_not_at_a_terminal_it_is_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    assert not progress.shown()
