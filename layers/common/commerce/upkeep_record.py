"""How an upkeep function ends its run, the same for every job: its repairs counted (`ReconciliationRepairs`,
in total and per kind), the stock audit's mismatches counted (`StockAuditMismatches`, likewise), and the run
recorded for GET /admin/upkeep."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from commerce.domain.operations.upkeep import UpkeepRun, UpkeepRuns
from commerce.domain.orders.models import order_clock
from commerce.observability import STOCK_AUDIT_MISMATCHES, count_by_kind, count_repairs


def record_upkeep_run(
    runs: UpkeepRuns,
    job: str,
    started_at: datetime,
    *,
    examined: int,
    repaired: Mapping[str, int],
    failed: int,
    mismatches: Mapping[str, int] | None = None,
) -> None:
    count_repairs(repaired)
    if mismatches is not None:
        count_by_kind(STOCK_AUDIT_MISMATCHES, mismatches)
    runs.record(
        UpkeepRun(
            job=job,
            started_at=started_at,
            ended_at=order_clock(),
            examined=examined,
            repaired=repaired,
            failed=failed,
            mismatches=mismatches or {},
        )
    )
