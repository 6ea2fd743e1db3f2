"""One contract, two order repositories: the Data API adapter (boto3 rds-data -> local edge -> the embedded
PostgreSQL, real schema) and the in-memory fake the unit tests use alike.

Round trip, a refused order id, transitions with their events, keyset pagination with ties, filters, ownership.
The cases share one database per module, so each makes its own shopper (a unique email, session or customer).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import pytest

from commerce.domain.errors import CommerceError
from commerce.domain.money import Money
from commerce.domain.orders.errors import InvalidTransition, OrderIdTaken
from commerce.domain.orders.fulfilments import fulfill_order
from commerce.domain.orders.models import OrderFilters, OrderLine, OrderOwner, OrderStatus, ShippingAddress
from commerce.domain.orders.ports import OrderRepository
from commerce.domain.orders.service import (
    create_order,
    get_own_order,
    list_own_orders,
    mark_order_paid,
    search_orders,
)
from tests.support.fakes.orders import InMemoryOrderRepository
from tests.support.orders import T0, SteppingClock, minutes, new_order
from tests.support.orders_db import OrdersCloud, orders_cloud

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cloud() -> OrdersCloud:
    return orders_cloud()


@pytest.fixture(scope="module")
def database(cloud: OrdersCloud) -> str:
    return cloud.migrated_database("contract")


@pytest.fixture(params=["memory", "data_api"])
def repository(request: pytest.FixtureRequest) -> OrderRepository:
    if request.param == "memory":
        return InMemoryOrderRepository()
    cloud: OrdersCloud = request.getfixturevalue("cloud")
    return cloud.repository(request.getfixturevalue("database"))


def unique_email() -> str:
    return f"shopper-{uuid.uuid4().hex[:10]}@example.com"


def test_an_order_round_trips_exactly(repository: OrderRepository) -> None:
    # Given an order with unicode, an optional address line and several lines
    wanted = replace(
        new_order(customer_id="cust-ü"),
        email="Zoë@Example.com",
        shipping_address=ShippingAddress("Zoë Ünal", "1 Rue de l'Église", "Paris", "75001", "FR", line2="Bât. B"),
        lines=(
            OrderLine("SKU-1", "p-1", "Thé vert « premium »", 3, Money(1250, "EUR")),
            OrderLine("SKU-2", "p-2", "Tasse", 1, Money(0, "EUR")),
        ),
    )
    # When it is created and read back through the Data API
    created = create_order(repository, wanted)
    stored = repository.get(created.order_id)
    # Then the stored order is exactly the created one: lines in order, money, address, history, times
    assert stored == created
    assert stored.subtotal == Money(3750, "EUR")
    assert stored.events[0].detail == {"checkoutId": wanted.checkout_id}


def test_an_order_id_of_another_checkout_is_refused(repository: OrderRepository) -> None:
    first = create_order(repository, new_order())
    with pytest.raises(OrderIdTaken):
        create_order(repository, new_order(order_id=first.order_id))
    assert repository.get(first.order_id) == first


def test_transitions_are_recorded_with_their_events(repository: OrderRepository) -> None:
    # Given a created order
    clock = SteppingClock()
    order = create_order(repository, new_order())
    # When it is paid, then fulfilled by an operator
    paid = mark_order_paid(repository, order.order_id, {"intentId": "pi_123", "amount": 3900}, clock=clock)
    fulfilled = fulfill_order(repository, order.order_id, "operator:op-7", clock=clock)
    # Then what the service returned is what the database holds, history included
    stored = repository.get(order.order_id)
    assert stored == fulfilled
    shipped = [{"sku": "TSHIRT-RED-M", "quantity": 2}, {"sku": "MUG-WHT", "quantity": 1}]  # every unit, one fulfilment
    assert [(e.type, e.actor, e.detail) for e in stored.events] == [
        ("OrderCreated", "checkout", {"checkoutId": order.checkout_id}),
        ("PaymentSucceeded", "payments", {"intentId": "pi_123", "amount": 3900}),
        ("OrderFulfilled", "operator:op-7", {"fulfillmentId": stored.fulfilments[0].fulfilment_id, "lines": shipped}),
    ]
    assert stored.updated_at == stored.events[-1].at > paid.updated_at


def test_a_refused_transition_changes_nothing(repository: OrderRepository) -> None:
    order = create_order(repository, new_order())
    with pytest.raises(InvalidTransition):
        fulfill_order(repository, order.order_id, "operator:op")
    assert repository.get(order.order_id) == order


def test_keyset_pages_cover_everything_once_even_with_ties(repository: OrderRepository) -> None:
    # Given 9 orders of one shopper, four of them created in the same millisecond
    email = unique_email()
    created = {
        create_order(repository, new_order(email=email, created_at=T0 + minutes(0 if i < 4 else i))).order_id
        for i in range(9)
    }
    # When an operator pages through them 2 at a time
    seen: list[Any] = []
    after = None
    while True:
        page = search_orders(repository, OrderFilters(email=email.upper()), 2, after)
        seen.extend(page.orders)
        if page.next_position is None:
            break
        after = page.next_position
    # Then each order came exactly once, newest first, ties broken by id, with no empty last page
    assert [o.order_id for o in seen] == list(dict.fromkeys(o.order_id for o in seen))
    assert {o.order_id for o in seen} == created
    keys = [o.position.sort_key() for o in seen]
    assert keys == sorted(keys, reverse=True)
    assert len(seen) == 9


def test_filters_narrow_the_search(repository: OrderRepository) -> None:
    # Given three orders of one shopper an hour apart, the middle one paid
    email = unique_email()
    base = T0 + minutes(10_000 + uuid.uuid4().int % 100_000)
    a, b, c = (create_order(repository, new_order(email=email, created_at=base + minutes(60 * i))) for i in range(3))
    mark_order_paid(repository, b.order_id, {})

    def ids(**filters: Any) -> list[str]:
        return [o.order_id for o in search_orders(repository, OrderFilters(email=email, **filters), 10).orders]

    # Then status, createdFrom (inclusive) and createdTo (exclusive) each narrow it
    assert ids() == [c.order_id, b.order_id, a.order_id]
    assert ids(status=OrderStatus.PAID) == [b.order_id]
    assert ids(created_from=b.created_at) == [c.order_id, b.order_id]
    assert ids(created_to=b.created_at) == [a.order_id]
    assert ids(created_from=a.created_at, created_to=c.created_at, status=OrderStatus.PENDING_PAYMENT) == [a.order_id]


def test_own_orders_are_the_sessions_and_the_customers(repository: OrderRepository) -> None:
    # Given a guest order of a session, a customer order of the customer that session signed in as, and others
    session, customer = f"sess-{uuid.uuid4().hex}", f"cust-{uuid.uuid4().hex}"
    guest = create_order(repository, new_order(session_id=session, created_at=T0))
    signed_in = create_order(repository, new_order(customer_id=customer, created_at=T0 + minutes(1)))
    other = create_order(repository, new_order(created_at=T0 + minutes(2)))
    me = OrderOwner(session_id=session, customer_id=customer)
    # Then the caller lists both of theirs, newest first, and reads neither someone else's
    assert [o.order_id for o in list_own_orders(repository, me, 10).orders] == [signed_in.order_id, guest.order_id]
    assert [o.order_id for o in list_own_orders(repository, OrderOwner(customer_id=customer), 10).orders] == [
        signed_in.order_id
    ]
    assert get_own_order(repository, me, guest.order_id) == guest
    with pytest.raises(CommerceError):
        get_own_order(repository, me, other.order_id)
