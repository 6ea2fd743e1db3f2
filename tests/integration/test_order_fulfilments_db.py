"""Fulfilments against the embedded PostgreSQL through the Data API: the database itself refuses shipping more
than was bought, a SKU not bought, and a status that disagrees with what is left (0005_fulfilments.sql), and
operators racing to ship the same units in real threads never ship more than the order holds."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest

from commerce.adapters.orders_db.errors import StatementFailed
from commerce.adapters.orders_db.parameters import Json, Uuid
from commerce.domain.money import Money
from commerce.domain.orders.errors import InvalidTransition, OrderChangedConcurrently, OverFulfilled
from commerce.domain.orders.fulfilments import fulfil
from commerce.domain.orders.models import FulfilmentLine, OrderAction, OrderEvent, OrderLine, OrderStatus, order_clock
from commerce.domain.orders.service import apply_action, create_order
from tests.support.orders import new_order
from tests.support.orders_db import OrdersCloud, orders_cloud

pytestmark = pytest.mark.integration

SHIRT, MUG = "TSHIRT-RED-M", "MUG-WHT"


@pytest.fixture(scope="module")
def cloud() -> OrdersCloud:
    return orders_cloud()


@pytest.fixture(scope="module")
def database(cloud: OrdersCloud) -> str:
    return cloud.migrated_database("fulfilments")


def paid_order(cloud: OrdersCloud, database: str, *lines: OrderLine) -> str:
    repository = cloud.repository(database)
    wanted = new_order() if not lines else replace(new_order(), lines=lines)
    order_id = create_order(repository, wanted).order_id
    apply_action(repository, order_id, OrderAction.PAY, "payments")
    return order_id


def fulfilment_event(to_status: OrderStatus, *lines: tuple[str, int], **detail: Any) -> OrderEvent:
    kind = "OrderFulfilled" if to_status is OrderStatus.FULFILLED else "OrderPartiallyFulfilled"
    shipped = {"fulfillmentId": "f-1", "lines": [{"sku": sku, "quantity": units} for sku, units in lines], **detail}
    return OrderEvent(kind, order_clock(), "operator:op", OrderStatus.PAID, to_status, shipped)


@pytest.mark.parametrize(
    ("event", "sqlstate"),
    [
        (fulfilment_event(OrderStatus.PARTIALLY_FULFILLED, (SHIRT, 3)), "CF001"),  # 2 bought
        (fulfilment_event(OrderStatus.PARTIALLY_FULFILLED, ("CAP-1", 1)), "CF001"),  # not bought
        (fulfilment_event(OrderStatus.PARTIALLY_FULFILLED, (SHIRT, 0)), "CF001"),
        (fulfilment_event(OrderStatus.FULFILLED, (SHIRT, 2)), "CF002"),  # the mug is left
        (fulfilment_event(OrderStatus.PARTIALLY_FULFILLED, (SHIRT, 2), (MUG, 1)), "CF002"),  # nothing is left
        (fulfilment_event(OrderStatus.PARTIALLY_FULFILLED, lines="all"), "23514"),
    ],
)
def test_the_database_refuses_a_fulfilment_that_does_not_fit_the_order(
    cloud: OrdersCloud, database: str, event: OrderEvent, sqlstate: str
) -> None:
    # Given a paid order of 2 shirts and a mug
    order_id = paid_order(cloud, database)
    repository = cloud.repository(database)
    before = repository.get(order_id)
    # When the fulfilment event is written past the domain's checks, as a statement of its own
    with pytest.raises(StatementFailed) as refused:
        cloud.data_api(database).execute_update(
            "INSERT INTO order_events (order_id, type, from_status, to_status, actor, at, detail)"
            " VALUES (:id, :type, 'PAID', :to, 'x', now(), CAST(:detail AS jsonb))",
            {"id": Uuid(order_id), "type": event.type, "to": str(event.to_status), "detail": Json(dict(event.detail))},
        )
    # Then PostgreSQL refuses it with the fulfilment trigger's code, and nothing changed
    assert refused.value.sqlstate == sqlstate
    assert repository.get(order_id) == before
    # And through the repository the same write is "changed meanwhile" (CF001 / CF002) or an error
    if sqlstate.startswith("CF"):
        assert repository.transition(order_id, OrderStatus.PAID, event) is False
        assert repository.get(order_id) == before


def test_partial_fulfilments_round_trip_through_the_database(cloud: OrdersCloud, database: str) -> None:
    order_id = paid_order(cloud, database)
    repository = cloud.repository(database)
    order, shipped = fulfil(repository, order_id, [FulfilmentLine(SHIRT, 1)], "op", carrier="UPS", tracking_number="1Z")
    assert order.status is OrderStatus.PARTIALLY_FULFILLED
    stored = repository.get(order_id)
    assert stored == order
    assert stored.fulfilments == (shipped,)
    done, _ = fulfil(repository, order_id, [FulfilmentLine(SHIRT, 1), FulfilmentLine(MUG, 1)], "op")
    assert done.status is OrderStatus.FULFILLED
    assert repository.get(order_id) == done


def test_operators_racing_to_ship_the_same_units_never_ship_more_than_was_bought(
    cloud: OrdersCloud, database: str
) -> None:
    # Given a paid order of 5 units of one SKU, and 12 operators each shipping one unit at the same moment
    order_id = paid_order(cloud, database, OrderLine(SHIRT, "p-tshirt", "Shirt", 5, Money(1500, "EUR")))
    start = threading.Barrier(12)
    outcomes: list[str] = []
    lock = threading.Lock()

    def operator(number: int) -> None:
        repository = cloud.repository(database)
        start.wait()
        try:
            fulfil(repository, order_id, [FulfilmentLine(SHIRT, 1)], f"operator:op-{number}")
            outcome = "shipped"
        except (OverFulfilled, InvalidTransition):  # nothing left of the SKU, or nothing left at all (FULFILLED)
            outcome = "refused"
        except OrderChangedConcurrently:
            outcome = "gave up"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=operator, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then every operator got an answer, at most 5 shipped, and the order records exactly those
    assert len(outcomes) == 12
    order = cloud.repository(database).get(order_id)
    assert order is not None
    shipped = sum(line.quantity for fulfilment in order.fulfilments for line in fulfilment.lines)
    assert shipped == outcomes.count("shipped") <= 5, outcomes
    assert (order.status is OrderStatus.FULFILLED) is (shipped == 5)
    if "gave up" not in outcomes:  # no one ran out of attempts: every unit shipped
        assert outcomes.count("shipped") == 5
