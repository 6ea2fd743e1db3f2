"""The record of the scheduled upkeep jobs' runs (`GET /admin/upkeep`): when each ran, how many things it
examined, what it repaired (a count per kind of repair), what it found wrong and did not repair (the stock
audit's mismatches, a count per kind) and how many it could not handle.

A job records its run when it ends (`UpkeepRuns.record`); runs are kept two weeks. A job that dies midway
records nothing for that run: its logs say why, and the next run does the work again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from commerce.domain.sessions.models import rfc3339

RUNS_KEPT_FOR = timedelta(days=14)


@dataclass(frozen=True)
class UpkeepRun:
    job: str
    started_at: datetime
    ended_at: datetime
    examined: int
    repaired: Mapping[str, int]  # kind of repair -> how many, e.g. {"reservationsReleased": 3}
    failed: int
    mismatches: Mapping[str, int] = field(default_factory=dict)  # kind -> how many, e.g. {"reservedAboveHeld": 1}
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "startedAt": rfc3339(self.started_at),
            "endedAt": rfc3339(self.ended_at),
            "examined": self.examined,
            "repaired": dict(self.repaired),
            "failed": self.failed,
            "mismatches": dict(self.mismatches),
        }


@dataclass(frozen=True)
class UpkeepJob:
    job: str
    runs: Sequence[UpkeepRun]  # newest first

    def to_json(self) -> dict[str, Any]:
        return {"job": self.job, "runs": [run.to_json() for run in self.runs]}


class UpkeepRuns(Protocol):
    def record(self, run: UpkeepRun) -> None: ...

    def recent(self, runs_per_job: int) -> Sequence[UpkeepJob]:
        """Every job that has recorded a run, by name, each with its last `runs_per_job` runs."""
        ...
