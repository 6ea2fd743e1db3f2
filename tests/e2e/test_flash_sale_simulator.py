"""The flash-sale simulator, CI-sized, against a local cloud of its own: the sale drains and every invariant
its report checks (oversold, leaked units, double charges, accepted checkouts not final, charges without a
paid order) is 0; the report, its JSON and its plot are written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import flash_sale

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sales")]  # one sale at a time (test_checkout_concurrency)


def test_a_fast_sale_balances_its_books(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given 60 buyers (payers, decliners, abandoners, retriers, hoarding bots) for 20 units, on a fast cloud
    out = tmp_path / "sale"
    # When the simulator runs the sale and checks the books
    status = flash_sale.main(
        ["--start", "--fast", "--buyers", "60", "--units", "20", "--seed", "7", "--out", str(out), "--no-progress"]
    )
    # Then it exits 0, and its report says every invariant is 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["books"]["violations"] == {
        "oversoldUnits": 0,
        "unitsLeaked": 0,
        "doubleCharges": 0,
        "acceptedNotFinal": 0,
        "chargedWithoutPaidOrder": 0,
        "payableIntentsOfFailedCheckouts": 0,
        "brokenAnswers": 0,
    }
    assert status == 0
    # And the sale really happened: checkouts were accepted and each ended, and every buyer was served
    assert report["answers"].get("202", 0) > 0
    assert set(report["books"]["checkoutsByStatus"]) <= {"COMPLETED", "FAILED", "EXPIRED", "CANCELLED"}
    assert sum(report["roles"].values()) == 60
    assert report["samples"]
    # And the plot was drawn, and the report printed
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    assert "invariants (each must be 0)" in capsys.readouterr().out
