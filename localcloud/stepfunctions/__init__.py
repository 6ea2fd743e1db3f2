"""Step Functions: real executions of the stack's state machines (moto's ASL interpreter), their Lambda
tasks reaching the real handlers through the edge, and the time scale applied to their waits.

    restore = enable_stepfunctions_execution(edge_url, time_scale=scale)   # before any machine exists
"""

from localcloud.stepfunctions.execution import enable_stepfunctions_execution
from localcloud.stepfunctions.time_scale import set_stepfunctions_time_scale, stepfunctions_time_scale

__all__ = ["enable_stepfunctions_execution", "set_stepfunctions_time_scale", "stepfunctions_time_scale"]
