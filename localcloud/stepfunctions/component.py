"""The Step Functions room's component: real state machine executions, switched on before any machine exists
(a service). Their switches are process-wide: one such component per process at a time."""

from __future__ import annotations

from collections.abc import Callable

from localcloud.context import CloudContext
from localcloud.stepfunctions.execution import enable_stepfunctions_execution


class StepFunctionsService:
    def __init__(self) -> None:
        self._restore: Callable[[], None] | None = None

    def start(self, cloud: CloudContext) -> None:
        self._restore = enable_stepfunctions_execution(cloud.edge_url, time_scale=cloud.time_scale)

    def stop(self) -> None:
        restore, self._restore = self._restore, None
        if restore is not None:
            restore()
