"""The record of the scheduled upkeep jobs' runs (`GET /admin/upkeep`): when each ran, how many things it
examined, what it repaired (a count per kind of repair), what it found wrong and did not repair (the stock
audit's mismatches, a count per kind) and how many it could not handle.

A job records its run when it ends (`UpkeepRuns.record`); runs are kept two weeks. A job that dies midway
records nothing for that run: its logs say why, and the next run does the work again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

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


R = TypeVar("R", bound=StrEnum)


@dataclass
class RepairReport(Generic[R]):
    """What one pass of an upkeep job did: the ids it repaired by kind, those it left, those that failed."""

    repaired: dict[R, list[str]]
    left: list[str] = field(default_factory=list)
    failed: list[tuple[str, Exception]] = field(default_factory=list)

    @property
    def examined(self) -> int:
        return sum(len(ids) for ids in self.repaired.values()) + len(self.left) + len(self.failed)


def repair_each(ids: Iterable[str], kinds: Iterable[R], repair_one: Callable[[str], R | None]) -> RepairReport[R]:
    """Run `repair_one` on each id (it answers the repair it made, or None if it left the id alone)."""
    report: RepairReport[R] = RepairReport({kind: [] for kind in kinds})
    for item_id in ids:
        try:
            repair = repair_one(item_id)
        except Exception as error:  # one broken item must not keep the others unrepaired
            report.failed.append((item_id, error))
            continue
        if repair is None:
            report.left.append(item_id)
        else:
            report.repaired[repair].append(item_id)
    return report
