"""Real Step Functions executions in the local cloud, with Lambda tasks reaching the real handlers.

moto 5.2.5 ships an ASL interpreter (`moto.stepfunctions.parser`); its backend is used instead of the
bookkeeping-only one when moto's config says `{"stepfunctions": {"execute_state_machine": True}}`.
In server mode that config is set with `POST /moto-api/config`, and it must happen before any state
machine is created: the two backends keep separate state machines.

Task states call services through `moto.stepfunctions.parser.asl.utils.boto_client.boto_client_for`,
which builds a boto3 client for `http://localhost:{MOTO_PORT}` - the port moto's own server records
in MOTO_PORT when it starts. The edge is the local cloud's moto server, so MOTO_PORT is set to the
edge's port, exactly as `moto_server` would set its own. Every task call (`lambda:invoke`,
`.waitForTaskToken`, `events:putEvents`, `sqs:sendMessage`, ...) then goes through the edge, where
Lambda Invoke is intercepted and runs the real handler. The interpreter runs in the edge's process,
so this must be called in that process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from urllib.parse import urlsplit

import requests
from moto.core.config import default_user_config

from localcloud.stepfunctions.time_scale import set_stepfunctions_time_scale, stepfunctions_time_scale


def enable_stepfunctions_execution(edge_url: str, *, time_scale: float = 1.0) -> Callable[[], None]:
    """Make moto execute state machines, route their task calls to the edge, and apply the time scale.

    Call after the edge listens and before any state machine is created. All three are process-wide:
    the function returned puts back what was there before, for when this edge stops.
    """
    port = urlsplit(edge_url).port
    if port is None:
        raise ValueError(f"the edge URL must carry its port, got {edge_url!r}")
    previous_config = dict(default_user_config.get("stepfunctions", {}))
    previous_port = os.environ.get("MOTO_PORT")
    previous_scale = stepfunctions_time_scale()
    response = requests.post(
        f"{edge_url.rstrip('/')}/moto-api/config",
        json={"stepfunctions": {"execute_state_machine": True}},
        timeout=10,
    )
    response.raise_for_status()
    os.environ["MOTO_PORT"] = str(port)
    set_stepfunctions_time_scale(time_scale)

    def restore() -> None:
        default_user_config["stepfunctions"] = previous_config  # type: ignore[typeddict-item]
        if previous_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = previous_port
        set_stepfunctions_time_scale(previous_scale)

    return restore
