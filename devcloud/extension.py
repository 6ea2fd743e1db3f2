"""The glue as the local cloud's CLI takes it (`localcloud.context.Extension`)."""

from __future__ import annotations

from typing import Any

from devcloud.demo_data import DemoData
from devcloud.payments import PaymentsApiUrlParameter, PaymentsWebhookRegistration
from devcloud.sample_checkout import SampleCheckouts
from devcloud.sample_events import prepare_event
from localcloud.context import Component

STACK_NAME = "commerce-local"


class DevCloud:
    stack_name = STACK_NAME

    def services(self) -> list[Component]:
        return [PaymentsApiUrlParameter()]

    def glue(self, *, demo_data: bool) -> list[Component]:
        return [PaymentsWebhookRegistration(), DemoData(seed=demo_data), SampleCheckouts(seed=demo_data)]

    def prepare_event(self, function: str, event: bytes, outputs: dict[str, Any]) -> bytes:
        return prepare_event(function, event, outputs)
