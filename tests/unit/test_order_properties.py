"""Property: no sequence of operations, however interleaved or repeated, reaches an invalid order or loses an event.

A hypothesis state machine drives the in-memory repository (the Data API adapter's twin) through random
creates, retried creates, payments, fulfilments (whole and partial), cancels and refunds, by operators and by
the system, and checks after every step that each order's history is a valid walk through the lifecycle that ends in
its current status, with one event per successful transition and none for a refused one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from commerce.domain.orders.errors import InvalidTransition, OverFulfilled
from commerce.domain.orders.fulfilments import FULFILLABLE, fulfil, fulfill_order
from commerce.domain.orders.lifecycle import FINAL_STATUSES, TRANSITIONS, status_changes
from commerce.domain.orders.models import ORDER_CREATED, FulfilmentLine, Order, OrderAction, OrderStatus
from commerce.domain.orders.service import (
    apply_action,
    cancel_unpaid_order,
    create_order,
)
from tests.support.fakes.orders import InMemoryOrderRepository
from tests.support.orders import SteppingClock, new_order

# Shipping goes through fulfilments (their events carry the lines), never through a bare action.
SHIPPING = {OrderAction.FULFILL, OrderAction.FULFILL_PART}


class OrderLifecycle(RuleBasedStateMachine):
    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.repository = InMemoryOrderRepository()
        self.clock = SteppingClock()
        self.expected_events: dict[str, int] = {}  # successful transitions + the creation, per order
        self.checkouts: dict[str, str] = {}

    @rule(target=orders)
    def create(self) -> str:
        order = create_order(self.repository, new_order())
        self.expected_events[order.order_id] = 1
        self.checkouts[order.checkout_id] = order.order_id
        return order.order_id

    @rule(order_id=orders)
    def retry_create(self, order_id: str) -> None:
        # The checkout retries: it gets its order back and nothing new is written.
        order = self.repository.get(order_id)
        assert order is not None
        again = create_order(self.repository, new_order(checkout_id=order.checkout_id))
        assert again.order_id == order_id

    @rule(order_id=orders, action=st.sampled_from(sorted(set(OrderAction) - SHIPPING)), idempotent=st.booleans())
    def act(self, order_id: str, action: OrderAction, idempotent: bool) -> None:
        before = self.repository.get(order_id)
        assert before is not None
        allowed = (before.status, action) in TRANSITIONS
        try:
            after = apply_action(self.repository, order_id, action, "tester", clock=self.clock, idempotent=idempotent)
        except InvalidTransition:
            assert not allowed
            assert self.repository.get(order_id) == before
            return
        if after == before:  # an idempotent repeat
            assert idempotent
            return
        assert allowed
        assert after.status is TRANSITIONS[(before.status, action)]
        self.expected_events[order_id] += 1

    @rule(order_id=orders)
    def operator_fulfils(self, order_id: str) -> None:
        self._operator(fulfill_order, order_id)

    @rule(order_id=orders, line=st.integers(0, 1), units=st.integers(1, 3))
    def operator_ships_some(self, order_id: str, line: int, units: int) -> None:
        before = self.repository.get(order_id)
        assert before is not None
        sku = before.lines[line % len(before.lines)].sku
        try:
            after, _ = fulfil(self.repository, order_id, [FulfilmentLine(sku, units)], "operator:op", clock=self.clock)
        except (InvalidTransition, OverFulfilled):
            assert before.status not in FULFILLABLE or units > before.unfulfilled().get(sku, 0)
            assert self.repository.get(order_id) == before
            return
        assert after.unfulfilled().get(sku, 0) == before.unfulfilled()[sku] - units
        assert (after.status is OrderStatus.FULFILLED) is (not after.unfulfilled())
        self.expected_events[order_id] += 1

    @rule(order_id=orders)
    def operator_cancels(self, order_id: str) -> None:
        self._operator(cancel_unpaid_order, order_id)

    def _operator(self, operation: Callable[..., Order], order_id: str) -> None:
        before = self.repository.get(order_id)
        try:
            operation(self.repository, order_id, "operator:op", clock=self.clock)
        except InvalidTransition:
            assert self.repository.get(order_id) == before
            return
        self.expected_events[order_id] += 1

    @invariant()
    def every_history_is_a_valid_walk_ending_in_the_status(self) -> None:
        allowed = status_changes()
        for order in self.repository.all_orders():
            events = order.events
            assert len(events) == self.expected_events[order.order_id], "an event was lost or invented"
            assert events[0].type == ORDER_CREATED
            assert (events[0].from_status, events[0].to_status) == (None, OrderStatus.PENDING_PAYMENT)
            for previous, event in itertools.pairwise(events):
                assert event.from_status is previous.to_status
                assert (event.from_status, event.to_status) in allowed
                assert event.at >= previous.at
            assert events[-1].to_status is order.status
            assert order.updated_at == max(e.at for e in events)
            # Once final, nothing follows but the provider's report that the refund failed, and then nothing.
            finals = [i for i, e in enumerate(events) if e.to_status in FINAL_STATUSES]
            after_final = events[finals[0] + 1 :] if finals else ()
            assert [e.to_status for e in after_final] in ([], [OrderStatus.REFUND_FAILED])

    @invariant()
    def one_order_per_checkout(self) -> None:
        stored = self.repository.all_orders()
        assert len({o.checkout_id for o in stored}) == len(stored) == len(self.checkouts)


OrderLifecycle.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestOrderLifecycle = OrderLifecycle.TestCase
