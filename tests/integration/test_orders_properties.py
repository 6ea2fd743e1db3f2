"""Property, through the real adapter: any sequence of actions on an order leaves the database exactly where the
in-memory repository (the model the unit tests trust) ends up, with a valid and complete history.

Differential: the same actions, with the same clock readings, go to both; every outcome (the order, or the
refusal) and the final stored order must be equal. Fewer examples than the unit property: each is ~10 calls.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import cast

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from commerce.domain.errors import CommerceError
from commerce.domain.orders.fulfilments import fulfill_order
from commerce.domain.orders.lifecycle import status_changes
from commerce.domain.orders.models import Order, OrderAction
from commerce.domain.orders.ports import OrderRepository
from commerce.domain.orders.service import apply_action, cancel_unpaid_order, create_order
from tests.support.fakes.orders import InMemoryOrderRepository
from tests.support.orders import SteppingClock, new_order
from tests.support.orders_db import OrdersCloud, orders_cloud

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Shipping goes through fulfilments (their events carry the lines), never through a bare action.
ACTIONS = sorted(set(OrderAction) - {OrderAction.FULFILL, OrderAction.FULFILL_PART})
STEPS = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(ACTIONS), st.booleans()),
        st.sampled_from(["operator-fulfil", "operator-cancel", "retry-create"]),
    ),
    max_size=8,
)


@pytest.fixture(scope="module")
def cloud_database() -> tuple[OrdersCloud, str]:
    cloud = orders_cloud()
    return cloud, cloud.migrated_database("property")


def run(
    repository: OrderRepository, steps: list[object], clock: SteppingClock, order_id: str, checkout: str
) -> list[str]:
    outcomes = []
    for step in steps:
        try:
            if step == "operator-fulfil":
                result: Order = fulfill_order(repository, order_id, "operator:op", clock=clock)
            elif step == "operator-cancel":
                result = cancel_unpaid_order(repository, order_id, "operator:op", clock=clock)
            elif step == "retry-create":
                result = create_order(repository, new_order(checkout_id=checkout))
            else:
                action, idempotent = cast(tuple[OrderAction, bool], step)
                result = apply_action(repository, order_id, action, "system", clock=clock, idempotent=idempotent)
            outcomes.append(f"{result.status.value}/{len(result.events)}")
        except CommerceError as error:
            outcomes.append(error.code.value)
    return outcomes


def numbered_fulfilments(order: Order | None) -> Order | None:
    """The order with its fulfilments' ids (random for an operator's fulfil) numbered in order instead."""
    if order is None:
        return None
    numbers = itertools.count(1)
    events = tuple(
        replace(event, detail={**event.detail, "fulfillmentId": f"fulfilment-{next(numbers)}"})
        if "fulfillmentId" in event.detail
        else event
        for event in order.events
    )
    return replace(order, events=events)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
@example(steps=[(OrderAction.PAY, False), "operator-fulfil"])  # an operator ships the whole of a paid order
def test_the_database_follows_the_model(cloud_database: tuple[OrdersCloud, str], steps: list[object]) -> None:
    cloud, database = cloud_database
    # Given one new order in the database and the same order in the model
    wanted = new_order()
    real, model = cloud.repository(database), InMemoryOrderRepository()
    created = create_order(real, wanted)
    assert create_order(model, wanted) == created
    # When the same steps run against both, with the same clock readings
    real_outcomes = run(real, steps, SteppingClock(), created.order_id, wanted.checkout_id)
    model_outcomes = run(model, steps, SteppingClock(), created.order_id, wanted.checkout_id)
    # Then every step had the same outcome, and the stored orders are equal
    assert real_outcomes == model_outcomes
    stored = real.get(created.order_id)
    assert stored is not None
    assert numbered_fulfilments(stored) == numbered_fulfilments(model.get(created.order_id))
    # And its history is a valid walk from creation to its status, one event per change
    changes = [(e.from_status, e.to_status) for e in stored.events[1:]]
    assert all(change in status_changes() for change in changes)
    assert all(a.to_status is b.from_status for a, b in itertools.pairwise(stored.events))
    assert stored.events[-1].to_status is stored.status
