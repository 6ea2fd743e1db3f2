"""The IAM room's component: a service (its gate must be on the edge before provisioning runs any function).

On by default; `LOCALCLOUD_IAM=off` in the environment (or `run --no-iam`) leaves it out of the default
services (`localcloud.cloud.default_services`), and every call is then allowed, as before.
"""

from __future__ import annotations

import os

from localcloud.context import CloudContext
from localcloud.iam.guard import IamGuard
from localcloud.iam.policies import PolicyBook

SWITCH = "LOCALCLOUD_IAM"


def enforced_by_default() -> bool:
    """Whether the environment leaves IAM enforcement on (anything but `LOCALCLOUD_IAM=off`)."""
    return os.environ.get(SWITCH, "on").strip().lower() not in ("off", "0", "false", "no")


class IamService:
    def __init__(self) -> None:
        self.book = PolicyBook()

    def start(self, cloud: CloudContext) -> None:
        cloud.resource_listeners.append(self.book.learn)
        cloud.edge.gate(IamGuard(self.book))

    def stop(self) -> None:
        """Nothing runs: the gate goes with the edge."""
