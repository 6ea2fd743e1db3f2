"""Order operations against the in-memory repository: create once per checkout, read own, transitions, races."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from commerce.domain.errors import ErrorCode, ValidationFailed
from commerce.domain.money import Money
from commerce.domain.orders.errors import (
    InvalidTransition,
    OrderChangedConcurrently,
    OrderIdTaken,
    OrderNotFound,
)
from commerce.domain.orders.fulfilments import fulfill_order
from commerce.domain.orders.models import (
    Fulfilment,
    FulfilmentLine,
    Order,
    OrderAction,
    OrderEvent,
    OrderFilters,
    OrderLine,
    OrderOwner,
    OrderPosition,
    OrderStatus,
    new_order_id,
    order_clock,
)
from commerce.domain.orders.service import (
    apply_action,
    cancel_failed_order,
    cancel_unpaid_order,
    create_order,
    get_order,
    get_own_order,
    list_own_orders,
    mark_order_paid,
    record_refund,
    search_orders,
)
from tests.support.fakes.orders import InMemoryOrderRepository
from tests.support.orders import T0, SteppingClock, address, minutes, new_order


@pytest.fixture
def repository() -> InMemoryOrderRepository:
    return InMemoryOrderRepository()


def paid_order(repository: InMemoryOrderRepository, clock: SteppingClock) -> str:
    order = create_order(repository, new_order())
    mark_order_paid(repository, order.order_id, {"intentId": "pi_1"}, clock=clock)
    return order.order_id


# ---------------------------------------------------------------------------------------------- creation


def test_create_order_derives_totals_and_records_creation(repository: InMemoryOrderRepository) -> None:
    # Given a checkout's order of 2 x 15.00 and 1 x 9.00 EUR
    wanted = new_order()
    # When it is created
    order = create_order(repository, wanted)
    # Then it is PENDING_PAYMENT, totals come from the lines, and its history starts with OrderCreated
    assert order.status is OrderStatus.PENDING_PAYMENT
    assert order.subtotal == Money(3900, "EUR")
    assert order.total == order.subtotal
    assert [(e.type, e.from_status, e.to_status) for e in order.events] == [
        ("OrderCreated", None, OrderStatus.PENDING_PAYMENT)
    ]
    assert repository.get(order.order_id) == order


def test_a_retried_create_returns_the_first_order(repository: InMemoryOrderRepository) -> None:
    # Given a checkout that created its order
    first = create_order(repository, new_order())
    # When the checkout retries, even with another order id and email
    again = create_order(repository, replace(new_order(checkout_id=first.checkout_id), email="other@example.com"))
    # Then it gets the first order back, and there is still one order
    assert again == first
    assert len(repository.all_orders()) == 1


def test_an_order_id_of_another_checkout_is_a_conflict(repository: InMemoryOrderRepository) -> None:
    # Given an order
    first = create_order(repository, new_order())
    # When another checkout claims the same order id, Then 409 and nothing is created
    with pytest.raises(OrderIdTaken) as refused:
        create_order(repository, new_order(order_id=first.order_id))
    assert refused.value.code is ErrorCode.CONFLICT
    assert len(repository.all_orders()) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"order_id": "not-a-uuid"}, "orderId"),
        ({"order_id": new_order_id().upper()}, "orderId"),
        ({"checkout_id": ""}, "checkoutId"),
        ({"checkout_id": "c" * 129}, "checkoutId"),
        ({"email": "no-at-sign"}, "email"),
        ({"lines": ()}, "lines"),
        ({"created_at": T0.replace(tzinfo=None)}, "createdAt"),
        ({"created_at": T0.replace(microsecond=1)}, "createdAt"),
        ({"shipping_address": address(country="gb")}, "shippingAddress.country"),
        ({"shipping_address": address(city=" ")}, "shippingAddress.city"),
        ({"owner": OrderOwner(session_id="s" * 129)}, "sessionId"),
    ],
)
def test_invalid_orders_are_refused_and_nothing_is_stored(
    repository: InMemoryOrderRepository, change: dict[str, object], field: str
) -> None:
    # Given an order with one thing wrong, When it is created
    with pytest.raises(ValidationFailed) as refused:
        create_order(repository, replace(new_order(), **change))  # type: ignore[arg-type]
    # Then 400 names the field, and nothing is stored
    assert field in [problem.field for problem in refused.value.errors]
    assert repository.all_orders() == []


@pytest.mark.parametrize(
    ("order_lines", "field"),
    [
        ((OrderLine("A", "p", "A", 0, Money(100, "EUR")),), "lines[0].quantity"),
        ((OrderLine("A", "p", "A", 1, Money(-1, "EUR")),), "lines[0].unitPrice"),
        ((OrderLine("A", "p", "A", 1, Money(100, "XXX")),), "lines[0].unitPrice"),
        ((OrderLine("A", "p", "A", 1, Money(1, "EUR")), OrderLine("B", "p", "B", 1, Money(1, "USD"))), "lines"),
        ((OrderLine("A", "p", "A", 1, Money(1, "EUR")), OrderLine("A", "p", "A", 2, Money(1, "EUR"))), "lines"),
        ((OrderLine("A", "p", " ", 1, Money(1, "EUR")),), "lines[0]"),
    ],
)
def test_invalid_lines_are_refused(
    repository: InMemoryOrderRepository, order_lines: tuple[OrderLine, ...], field: str
) -> None:
    # Given lines with a zero quantity, a negative or unknown price, mixed currencies or a repeated SKU
    with pytest.raises(ValidationFailed) as refused:
        create_order(repository, new_order(order_lines=order_lines))
    # Then the line is named and nothing is stored
    assert field in [problem.field for problem in refused.value.errors]
    assert repository.all_orders() == []


# ---------------------------------------------------------------------------------------------- reading


def test_own_orders_only(repository: InMemoryOrderRepository) -> None:
    # Given an order of a guest session that later signed in as a customer, and an order of someone else
    mine = create_order(repository, new_order(session_id="sess-mine"))
    as_customer = create_order(repository, new_order(customer_id="cust-1", created_at=T0 + minutes(1)))
    theirs = create_order(repository, new_order(session_id="sess-theirs"))
    me = OrderOwner(session_id="sess-mine", customer_id="cust-1")
    # When the caller reads and lists
    assert get_own_order(repository, me, mine.order_id) == mine
    # Then someone else's order is exactly as missing as a missing one
    with pytest.raises(OrderNotFound) as hidden:
        get_own_order(repository, me, theirs.order_id)
    with pytest.raises(OrderNotFound) as missing:
        get_own_order(repository, me, new_order_id())
    assert hidden.value.code is missing.value.code is ErrorCode.NOT_FOUND
    # And the list holds the session's and the customer's orders, newest first
    page = list_own_orders(repository, me, limit=10)
    assert [o.order_id for o in page.orders] == [as_customer.order_id, mine.order_id]


@pytest.mark.parametrize("order_id", ["", "nope", "1" * 36, "../orders", "x" * 5000])
def test_malformed_order_ids_are_not_found(repository: InMemoryOrderRepository, order_id: str) -> None:
    # Given any id that is not a UUID, Then it names no order (404), without asking storage anything odd
    with pytest.raises(OrderNotFound):
        get_order(repository, order_id)


def test_upper_case_uuids_find_the_order(repository: InMemoryOrderRepository) -> None:
    # Given an order, When it is asked for with its id in upper case, Then it is found (a UUID is case-blind)
    order = create_order(repository, new_order())
    assert get_order(repository, order.order_id.upper()) == order


def test_search_pages_newest_first_without_gaps_or_repeats(repository: InMemoryOrderRepository) -> None:
    # Given 7 orders, three of them created at the same millisecond
    created = [create_order(repository, new_order(created_at=T0 + minutes(i // 3 if i < 3 else i))) for i in range(7)]
    # When an operator pages through them 2 at a time
    seen: list[Order] = []
    after: OrderPosition | None = None
    while True:
        page = search_orders(repository, OrderFilters(), 2, after)
        seen.extend(page.orders)
        if page.next_position is None:
            break
        after = page.next_position
    # Then every order comes once, newest first (ties broken by id)
    assert sorted(o.order_id for o in seen) == sorted(o.order_id for o in created)
    keys = [o.position.sort_key() for o in seen]
    assert keys == sorted(keys, reverse=True)


def test_search_filters(repository: InMemoryOrderRepository) -> None:
    # Given orders of two customers at different times, one of them paid
    clock = SteppingClock()
    a = create_order(repository, new_order(email="Ann@Example.com", created_at=T0))
    b = create_order(repository, new_order(email="bob@example.com", created_at=T0 + minutes(10)))
    mark_order_paid(repository, b.order_id, {}, clock=clock)

    def ids(filters: OrderFilters) -> list[str]:
        return [o.order_id for o in search_orders(repository, filters, 10).orders]

    # Then each filter narrows the search: email case-insensitive, createdFrom inclusive, createdTo exclusive
    assert ids(OrderFilters(email="ann@example.COM")) == [a.order_id]
    assert ids(OrderFilters(status=OrderStatus.PAID)) == [b.order_id]
    assert ids(OrderFilters(created_from=T0 + minutes(10))) == [b.order_id]
    assert ids(OrderFilters(created_to=T0 + minutes(10))) == [a.order_id]
    assert ids(OrderFilters(status=OrderStatus.PAID, email="ann@example.com")) == []


def test_an_inverted_range_is_a_validation_error(repository: InMemoryOrderRepository) -> None:
    with pytest.raises(ValidationFailed):
        search_orders(repository, OrderFilters(created_from=T0, created_to=T0), 10)


# ---------------------------------------------------------------------------------------------- transitions


def test_fulfil_a_paid_order_records_who_and_when(repository: InMemoryOrderRepository) -> None:
    # Given a paid order
    clock = SteppingClock()
    order_id = paid_order(repository, clock)
    # When an operator fulfils it
    order = fulfill_order(repository, order_id, actor="operator:op-1", clock=clock)
    # Then it is FULFILLED, and the event says who did it, when, and from which status
    assert order.status is OrderStatus.FULFILLED
    last = order.events[-1]
    assert (last.type, last.actor, last.from_status, last.to_status) == (
        "OrderFulfilled",
        "operator:op-1",
        OrderStatus.PAID,
        OrderStatus.FULFILLED,
    )
    assert order.updated_at == last.at
    assert repository.get(order_id) == order


@pytest.mark.parametrize("status", [OrderStatus.PENDING_PAYMENT, OrderStatus.FULFILLED, OrderStatus.CANCELLED])
def test_fulfilling_anything_but_a_paid_order_is_409(repository: InMemoryOrderRepository, status: OrderStatus) -> None:
    # Given an order in `status`
    clock = SteppingClock()
    order = create_order(repository, new_order())
    if status is OrderStatus.FULFILLED:
        mark_order_paid(repository, order.order_id, {}, clock=clock)
        fulfill_order(repository, order.order_id, "op", clock=clock)
    elif status is OrderStatus.CANCELLED:
        cancel_unpaid_order(repository, order.order_id, "op", clock=clock)
    before = repository.get(order.order_id)
    # When an operator fulfils it, Then 409 INVALID_TRANSITION and the order is unchanged
    with pytest.raises(InvalidTransition):
        fulfill_order(repository, order.order_id, "op", clock=clock)
    assert repository.get(order.order_id) == before


def test_cancel_an_unpaid_order(repository: InMemoryOrderRepository) -> None:
    order = create_order(repository, new_order())
    cancelled = cancel_unpaid_order(repository, order.order_id, "operator:op-1", clock=SteppingClock())
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.events[-1].type == "OrderCancelled"


def test_cancelling_a_paid_order_is_409_until_refunds_exist(repository: InMemoryOrderRepository) -> None:
    # Given a paid order (cancelling it would refund: the checkout's business, not served yet)
    clock = SteppingClock()
    order_id = paid_order(repository, clock)
    before = repository.get(order_id)
    # When an operator cancels it, Then 409 INVALID_TRANSITION, and nothing changed
    with pytest.raises(InvalidTransition) as refused:
        cancel_unpaid_order(repository, order_id, "op", clock=clock)
    assert "refund" in refused.value.detail
    assert repository.get(order_id) == before


def test_system_transitions_are_idempotent(repository: InMemoryOrderRepository) -> None:
    # Given an order paid once
    clock = SteppingClock()
    order = create_order(repository, new_order())
    paid = mark_order_paid(repository, order.order_id, {"intentId": "pi_1"}, clock=clock)
    # When the webhook is delivered again, Then the order comes back unchanged (no second event)
    assert mark_order_paid(repository, order.order_id, {"intentId": "pi_1"}, clock=clock) == paid
    # And a failed checkout's compensation, repeated, cancels once
    other = create_order(repository, new_order())
    once = cancel_failed_order(repository, other.order_id, "PAYMENT_TIMEOUT", clock=clock)
    assert cancel_failed_order(repository, other.order_id, "PAYMENT_TIMEOUT", clock=clock) == once
    # And a refund recorded twice refunds once
    refunded = record_refund(repository, order.order_id, {"refundId": "re_1"}, "payments", clock=clock)
    assert record_refund(repository, order.order_id, {"refundId": "re_1"}, "payments", clock=clock) == refunded
    assert [e.type for e in refunded.events] == ["OrderCreated", "PaymentSucceeded", "OrderRefunded"]


class RacingRepository(InMemoryOrderRepository):
    """Lets another writer pay (and, with `fulfil`, ship) the order right after our read, `races` times."""

    def __init__(self, races: int, clock: SteppingClock, fulfil: bool = True) -> None:
        super().__init__()
        self.races = races
        self.clock = clock
        self.fulfil = fulfil

    def transition(self, order_id: str, expected: OrderStatus, event: OrderEvent) -> bool:
        if self.races > 0:
            self.races -= 1
            order = self.get(order_id)
            assert order is not None
            # Someone else paid and fulfilled it in between.
            steps = [(OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, "PaymentSucceeded")]
            if self.fulfil:
                steps.append((OrderStatus.PAID, OrderStatus.FULFILLED, "OrderFulfilled"))
            everything = Fulfilment(
                "other", tuple(FulfilmentLine(line.sku, line.quantity) for line in order.lines), None, None
            )
            for source, target, kind in steps:
                if order.status is source:
                    detail = everything.to_detail() if target is OrderStatus.FULFILLED else {}
                    winner = OrderEvent(kind, self.clock(), "other", source, target, detail)
                    assert super().transition(order_id, source, winner)
                    order = order.after(winner)
        return super().transition(order_id, expected, event)


def test_a_transition_that_loses_a_race_decides_again() -> None:
    # Given an unpaid order that someone else pays and fulfils between our read and our write
    clock = SteppingClock()
    repository = RacingRepository(races=1, clock=clock)
    order = create_order(repository, new_order())
    # When an operator cancels it
    with pytest.raises(InvalidTransition):
        cancel_unpaid_order(repository, order.order_id, "op", clock=clock)
    # Then the cancel lost: the winner's history is intact and no cancel event was written
    stored = repository.get(order.order_id)
    assert stored is not None
    assert stored.status is OrderStatus.FULFILLED
    assert [e.type for e in stored.events] == ["OrderCreated", "PaymentSucceeded", "OrderFulfilled"]


@pytest.mark.parametrize("action", [OrderAction.FULFILL, OrderAction.FULFILL_PART])
def test_shipping_is_not_a_bare_action(repository: InMemoryOrderRepository, action: OrderAction) -> None:
    # Given a paid order
    clock = SteppingClock()
    order_id = paid_order(repository, clock)
    before = repository.get(order_id)
    # When a caller ships it without lines, Then that is a programming error and nothing is written
    with pytest.raises(ValueError, match="use fulfilments"):
        apply_action(repository, order_id, action, "op", clock=clock)
    assert repository.get(order_id) == before


def test_a_failed_checkout_cannot_cancel_a_paid_order(repository: InMemoryOrderRepository) -> None:
    # Given an order whose payment succeeded after all
    clock = SteppingClock()
    order_id = paid_order(repository, clock)
    before = repository.get(order_id)
    # When the checkout's compensation tries to cancel it, Then 409: the payment must be refunded first
    with pytest.raises(InvalidTransition):
        cancel_failed_order(repository, order_id, "PAYMENT_TIMEOUT", clock=clock)
    assert repository.get(order_id) == before


def test_order_clock_is_utc_milliseconds() -> None:
    now = order_clock()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert now.microsecond % 1000 == 0


def test_a_cancel_that_loses_to_the_payment_does_not_cancel_the_paid_order() -> None:
    # Given an unpaid order that gets paid between the operator's read and write
    clock = SteppingClock()
    repository = RacingRepository(races=1, clock=clock, fulfil=False)
    order = create_order(repository, new_order())
    # When the operator's cancel retries on what is there now (PAID, which only a refund may cancel)
    with pytest.raises(InvalidTransition) as refused:
        cancel_unpaid_order(repository, order.order_id, "op", clock=clock)
    # Then it is refused as for any paid order, and the payment stands
    assert "refund" in refused.value.detail
    stored = repository.get(order.order_id)
    assert stored is not None
    assert stored.status is OrderStatus.PAID


def test_a_transition_that_keeps_losing_gives_up_with_409() -> None:
    # Given an order whose every write loses a race (another change always wins)
    clock = SteppingClock()

    class AlwaysRacing(InMemoryOrderRepository):
        def transition(self, order_id: str, expected: OrderStatus, event: OrderEvent) -> bool:
            return False

    repository = AlwaysRacing()
    order = create_order(repository, new_order())
    # When the payment is recorded, Then after its attempts it answers a retryable 409 CONFLICT
    with pytest.raises(OrderChangedConcurrently) as gave_up:
        mark_order_paid(repository, order.order_id, {}, clock=clock)
    assert gave_up.value.code is ErrorCode.CONFLICT


def test_transitions_of_a_missing_order_are_404(repository: InMemoryOrderRepository) -> None:
    with pytest.raises(OrderNotFound):
        fulfill_order(repository, new_order_id(), "op")
