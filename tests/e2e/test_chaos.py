"""A chaos run, CI-sized: the flash-sale simulator's `--chaos` against a local cloud of its own. 100 buyers race
for three hot SKUs while workers of every checkout function are killed at random and AWS, provider and webhook
faults are injected; then the faults are cleared and the schedules run until quiet. Every invariant must be 0:
units oversold, units leaked, double charges, accepted checkouts not final, charges without a paid order,
payable intents of failed checkouts. The upkeep's repairs (GET /admin/upkeep) are printed by kind."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from bench import flash_sale

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("sales")]  # one sale at a time


@pytest.mark.timeout(1200)
def test_a_chaos_sale_balances_its_books(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given 100 buyers for 3 SKUs of 8 units, on a fast cloud, with kills and faults during the sale
    out = tmp_path / "chaos"
    argv = ["--start", "--fast", "--chaos", "--buyers", "100", "--skus", "3", "--units", "8", "--seed", "11"]
    argv += ["--kill-probability", "0.15", "--fault-probability", "0.05", "--drain-seconds", "180"]

    # When the simulator runs the sale, clears the faults, runs the upkeep until quiet and checks the books
    status = flash_sale.main([*argv, "--out", str(out), "--no-progress"])
    report = json.loads(out.with_suffix(".json").read_text())
    printed = capsys.readouterr()
    with capsys.disabled():
        print(printed.out)  # the counts: kills, faults, repairs, time until quiet, invariants
        print(printed.err, file=sys.stderr)  # why a read of the books or of the upkeep was refused, if one was

    # Then the chaos really happened: workers were killed and faults injected
    chaos = report["chaos"]
    assert sum(chaos["kills"].values()) > 0
    assert sum(chaos["faults"]["aws"].values()) > 0
    assert report["answers"].get("202", 0) > 0
    assert sum(report["roles"].values()) == 100
    # And every invariant is 0
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
