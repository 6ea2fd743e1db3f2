"""Fulfilments with the in-memory repository: a paid order ships in parts (PARTIALLY_FULFILLED, then FULFILLED),
never more than was bought, never twice for one Idempotency-Key, and a refused fulfilment changes nothing."""

from __future__ import annotations

import pytest

from commerce.domain.errors import CommerceError, ErrorCode, ValidationFailed
from commerce.domain.orders.errors import InvalidTransition, OverFulfilled
from commerce.domain.orders.fulfilments import fulfil, fulfill_order
from commerce.domain.orders.models import Fulfilment, FulfilmentLine, Order, OrderAction, OrderEvent, OrderStatus
from commerce.domain.orders.service import apply_action, create_order
from tests.support.fakes.orders import InMemoryOrderRepository
from tests.support.orders import SteppingClock, new_order

SHIRT, MUG = "TSHIRT-RED-M", "MUG-WHT"  # 2 shirts and 1 mug in every order of tests.support.orders


def paid(repository: InMemoryOrderRepository) -> str:
    order = create_order(repository, new_order())
    apply_action(repository, order.order_id, OrderAction.PAY, "payments")
    return order.order_id


def ship(
    repository: InMemoryOrderRepository, order_id: str, *lines: tuple[str, int], **options: str
) -> tuple[Order, Fulfilment]:
    """`lines` shipped by an operator; `options`: carrier, tracking_number, idempotency_key."""
    return fulfil(
        repository,
        order_id,
        [FulfilmentLine(sku, units) for sku, units in lines],
        "operator:op",
        carrier=options.get("carrier"),
        tracking_number=options.get("tracking_number"),
        idempotency_key=options.get("idempotency_key"),
    )


def test_an_order_ships_in_parts_and_is_fulfilled_with_its_last_unit() -> None:
    # Given a paid order of 2 shirts and a mug
    repository = InMemoryOrderRepository()
    order_id = paid(repository)
    clock = SteppingClock()
    # When one shirt ships with a carrier and a tracking number
    order, first = fulfil(
        repository,
        order_id,
        [FulfilmentLine(SHIRT, 1)],
        "operator:op",
        carrier="DHL",
        tracking_number="JD01",
        clock=clock,
    )
    # Then the order is PARTIALLY_FULFILLED, the fulfilment recorded in its history
    assert order.status is OrderStatus.PARTIALLY_FULFILLED
    assert order.unfulfilled() == {SHIRT: 1, MUG: 1}
    assert (first.carrier, first.tracking_number, first.lines) == ("DHL", "JD01", (FulfilmentLine(SHIRT, 1),))
    assert order.events[-1].type == "OrderPartiallyFulfilled"
    assert repository.get(order_id) == order
    # When the mug ships, Then still PARTIALLY_FULFILLED; when the last shirt ships, Then FULFILLED
    assert fulfil(repository, order_id, [FulfilmentLine(MUG, 1)], "op", clock=clock)[0].status.value == (
        "PARTIALLY_FULFILLED"
    )
    done, _ = fulfil(repository, order_id, [FulfilmentLine(SHIRT, 1)], "op", clock=clock)
    assert done.status is OrderStatus.FULFILLED
    assert done.events[-1].type == "OrderFulfilled"
    assert [f.lines for f in done.fulfilments] == [
        (FulfilmentLine(SHIRT, 1),),
        (FulfilmentLine(MUG, 1),),
        (FulfilmentLine(SHIRT, 1),),
    ]
    assert done.unfulfilled() == {}


def test_one_fulfilment_of_everything_fulfils_at_once() -> None:
    repository = InMemoryOrderRepository()
    order_id = paid(repository)
    order, _ = ship(repository, order_id, (SHIRT, 2), (MUG, 1))
    assert order.status is OrderStatus.FULFILLED


def test_more_than_is_left_or_a_sku_not_bought_is_over_fulfilled_and_changes_nothing() -> None:
    # Given an order one shirt of which shipped
    repository = InMemoryOrderRepository()
    order_id = paid(repository)
    ship(repository, order_id, (SHIRT, 1))
    before = repository.get(order_id)
    # When two more shirts, and a SKU the order does not hold, are to ship
    with pytest.raises(OverFulfilled) as refused:
        ship(repository, order_id, (SHIRT, 2), (MUG, 1), ("CAP-1", 1))
    # Then 409 OVER_FULFILLED names each line that cannot ship, and nothing changed
    assert refused.value.code is ErrorCode.OVER_FULFILLED
    assert refused.value.code.status == 409
    assert [(p.field, p.code) for p in refused.value.errors] == [
        ("lines[0].quantity", "OVER_FULFILLED"),
        ("lines[2].sku", "SKU_NOT_IN_ORDER"),
    ]
    assert repository.get(order_id) == before


@pytest.mark.parametrize("status", ["PENDING_PAYMENT", "FULFILLED", "REFUND_PENDING", "CANCELLED"])
def test_an_order_that_is_not_paid_and_unshipped_cannot_be_fulfilled(status: str) -> None:
    repository = InMemoryOrderRepository()
    order_id = create_order(repository, new_order()).order_id
    if status != "PENDING_PAYMENT":
        apply_action(repository, order_id, OrderAction.PAY, "payments")
    if status == "FULFILLED":
        fulfill_order(repository, order_id, "op")
    if status == "REFUND_PENDING":
        apply_action(repository, order_id, OrderAction.REQUEST_REFUND, "op")
    if status == "CANCELLED":
        apply_action(repository, order_id, OrderAction.CANCEL, "op")
    before = repository.get(order_id)
    assert before is not None
    assert before.status.value == status
    with pytest.raises(InvalidTransition):
        ship(repository, order_id, (MUG, 1))
    assert repository.get(order_id) == before


@pytest.mark.parametrize(
    ("lines", "options", "field"),
    [
        ([], {}, "lines"),
        ([(SHIRT, 1), (SHIRT, 1)], {}, "lines[1].sku"),
        ([(SHIRT, 0)], {}, "lines[0].quantity"),
        ([(SHIRT, 1)], {"carrier": "   "}, "carrier"),
        ([(SHIRT, 1)], {"tracking_number": "x" * 101}, "trackingNumber"),
    ],
)
def test_malformed_fulfilments_are_refused_before_anything_is_read(
    lines: list[tuple[str, int]], options: dict[str, str], field: str
) -> None:
    repository = InMemoryOrderRepository()
    order_id = paid(repository)
    before = repository.get(order_id)
    with pytest.raises(ValidationFailed) as refused:
        ship(repository, order_id, *lines, **options)
    assert field in [p.field for p in refused.value.errors]
    assert repository.get(order_id) == before


def test_an_idempotency_key_answers_its_fulfilment_again_and_ships_nothing_twice() -> None:
    # Given a fulfilment made with a key
    repository = InMemoryOrderRepository()
    order_id = paid(repository)
    order, first = ship(repository, order_id, (SHIRT, 1), idempotency_key="k-1")
    # When the same request comes again, Then the same fulfilment answers and nothing more shipped
    again_order, again = ship(repository, order_id, (SHIRT, 1), idempotency_key="k-1")
    assert again == first
    assert again_order == order == repository.get(order_id)
    # When the key comes with other lines, Then 422 IDEMPOTENCY_KEY_REUSED and nothing changes
    with pytest.raises(CommerceError) as reused:
        ship(repository, order_id, (MUG, 1), idempotency_key="k-1")
    assert reused.value.code is ErrorCode.IDEMPOTENCY_KEY_REUSED
    assert repository.get(order_id) == order
    # And another key ships again
    assert ship(repository, order_id, (SHIRT, 1), idempotency_key="k-2")[0].unfulfilled() == {MUG: 1}


class RacedRepository(InMemoryOrderRepository):
    """Another operator's fulfilment lands between this one's read and its write, once."""

    def __init__(self, rival: list[FulfilmentLine]) -> None:
        super().__init__()
        self.rival: list[FulfilmentLine] | None = rival

    def transition(self, order_id: str, expected: OrderStatus, event: OrderEvent) -> bool:
        if self.rival is not None and event.type in {"OrderFulfilled", "OrderPartiallyFulfilled"}:
            rival, self.rival = self.rival, None
            fulfil(self, order_id, rival, "operator:rival")
        return super().transition(order_id, expected, event)


def test_a_fulfilment_raced_by_another_is_decided_again_on_what_is_left() -> None:
    # Given a rival shipping one shirt just before this fulfilment of one shirt writes
    repository = RacedRepository([FulfilmentLine(SHIRT, 1)])
    order_id = paid(repository)
    # When this one ships a shirt, Then it is decided again: one shirt was left, so it ships it
    order, _ = ship(repository, order_id, (SHIRT, 1))
    assert order.unfulfilled() == {MUG: 1}
    assert [f.lines for f in order.fulfilments] == [(FulfilmentLine(SHIRT, 1),), (FulfilmentLine(SHIRT, 1),)]


def test_a_fulfilment_whose_units_a_rival_shipped_is_over_fulfilled() -> None:
    repository = RacedRepository([FulfilmentLine(SHIRT, 2)])
    order_id = paid(repository)
    with pytest.raises(OverFulfilled):
        ship(repository, order_id, (SHIRT, 1))
    stored = repository.get(order_id)
    assert stored is not None
    assert stored.unfulfilled() == {MUG: 1}


def test_fulfilling_the_rest_ships_every_unit_left_as_one_fulfilment() -> None:
    repository = InMemoryOrderRepository()
    order_id = paid(repository)
    ship(repository, order_id, (SHIRT, 1))
    order = fulfill_order(repository, order_id, "operator:op")
    assert order.status is OrderStatus.FULFILLED
    assert order.fulfilments[-1].lines == (FulfilmentLine(SHIRT, 1), FulfilmentLine(MUG, 1))
    with pytest.raises(InvalidTransition):
        fulfill_order(repository, order_id, "operator:op")
