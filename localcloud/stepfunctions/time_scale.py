"""The time scale inside moto's Step Functions interpreter (`moto.stepfunctions.parser`): three small hooks,
installed once by `set_stepfunctions_time_scale`, that read the current scale at run time.

- Wait states: `WaitFunction._wait_interval` (the one place every Wait variant - Seconds,
  SecondsPath, Timestamp, TimestampPath - sleeps) is replaced by a version that waits
  `seconds / scale` and still wakes up when the execution is stopped. The original rounds elapsed
  time to whole seconds, so it cannot wait a fraction of a second.
- Retry intervals: a Retrier computes IntervalSeconds x BackoffRate^n, caps it by MaxDelaySeconds,
  applies the JitterStrategy and then calls `time.sleep` - its module's only use of `time`. That
  module's `time` is replaced by a proxy whose `sleep` divides by the scale, so the history and the
  backoff arithmetic stay exactly moto's.
- `.waitForTaskToken` tasks: after such a task is parsed, its TimeoutSeconds/TimeoutSecondsPath and
  HeartbeatSeconds/HeartbeatSecondsPath are wrapped so they evaluate to `ceil(value / scale)` seconds
  (at least 1, integers as in the history AWS writes). Other tasks keep their timeouts: the code they
  run (a Lambda handler) is not compressed, so compressing its timeout would invent timeouts.
  Not compressed: an execution-level TimeoutSeconds, and Map/Parallel internals (they wait on states).

The scale itself is validated as everywhere else in the local cloud (`localcloud.timescale`).
"""

from __future__ import annotations

import math
import threading
import time
from types import ModuleType
from typing import Any

from localcloud.timescale import validate_time_scale

_scale_lock = threading.Lock()
_stepfunctions_scale = 1.0
_hooks_installed = False


def stepfunctions_time_scale() -> float:
    return _stepfunctions_scale


def set_stepfunctions_time_scale(scale: float) -> None:
    """Compress Wait states, Retry intervals and `.waitForTaskToken` timeouts of moto's ASL executions.

    Process-wide (moto runs in the local cloud's process); call it in the process that runs the edge.
    Applies to executions whose states run after the call; calling it again changes the scale.
    """
    global _stepfunctions_scale, _hooks_installed
    scale = validate_time_scale(scale)
    with _scale_lock:
        if not _hooks_installed:
            _install_hooks()
            _hooks_installed = True
        _stepfunctions_scale = scale


def compressed_seconds(seconds: float) -> float:
    return seconds / _stepfunctions_scale


def compressed_whole_seconds(seconds: int) -> int:
    return max(1, math.ceil(seconds / _stepfunctions_scale)) if seconds > 0 else seconds


class _CompressedSleep:
    """Stands in for the `time` module inside moto's retrier: `sleep` is compressed, the rest is `time`."""

    def __init__(self, real: ModuleType) -> None:
        self._real = real

    def sleep(self, seconds: float) -> None:
        self._real.sleep(compressed_seconds(seconds))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _install_hooks() -> None:
    # Imported here: the parser is heavy, and only the local cloud's own process needs it.
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.common.timeouts.heartbeat import Heartbeat
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import Timeout, TimeoutSeconds
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    def wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
        # Same contract as moto's: wait, but give up as soon as the execution is no longer running.
        deadline = time.monotonic() + compressed_seconds(wait_seconds)
        while env.is_running():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            env.program_state_event.wait(remaining)

    class CompressedTimeout(Timeout):
        def __init__(self, original: Any) -> None:
            self.original = original

        def is_default_value(self) -> bool:
            return bool(self.original.is_default_value())

        def _eval_seconds(self, env: Any) -> int:
            self.original.eval(env=env)
            seconds = int(env.stack.pop())
            if seconds == TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS:
                return seconds  # "no timeout" stays no timeout
            return compressed_whole_seconds(seconds)

    class CompressedHeartbeat(Heartbeat):
        def __init__(self, original: Any) -> None:
            self.original = original

        def _eval_seconds(self, env: Any) -> int:
            self.original.eval(env=env)
            return compressed_whole_seconds(int(env.stack.pop()))

    def from_state_props(self: Any, state_props: Any) -> None:
        StateTaskService.from_state_props(self, state_props)
        if self.resource.condition == ResourceCondition.WaitForTaskToken:
            self.timeout = CompressedTimeout(self.timeout)
            if self.heartbeat is not None:
                self.heartbeat = CompressedHeartbeat(self.heartbeat)

    WaitFunction._wait_interval = wait_interval  # type: ignore[method-assign]
    retrier_decl.time = _CompressedSleep(time)  # type: ignore[assignment]
    # No callback task class defines from_state_props itself, so this one attribute covers all of them.
    StateTaskServiceCallback.from_state_props = from_state_props  # type: ignore[method-assign]
