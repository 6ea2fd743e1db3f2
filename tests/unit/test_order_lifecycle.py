"""The order lifecycle table is exactly shared/API.md's, and everything outside it is 409 INVALID_TRANSITION."""

from __future__ import annotations

import itertools

import pytest

from commerce.domain.errors import ErrorCode
from commerce.domain.orders.errors import InvalidTransition
from commerce.domain.orders.lifecycle import (
    FINAL_STATUSES,
    INITIAL_STATUS,
    TRANSITIONS,
    actions_from,
    next_status,
    status_changes,
)
from commerce.domain.orders.models import OrderAction, OrderStatus

S, A = OrderStatus, OrderAction

# shared/API.md, written out by hand so that a change to the table has to be a change to this too. Then four
# of REFUND_PENDING's (openapi.yaml `OrderStatus`): refunds and cancels move the order before the provider; the
# next three are REFUND_FAILED's: the provider refused the refund, or reported later that it failed; the last
# four are fulfilments' (PARTIALLY_FULFILLED, which a refund may leave, not a cancel).
API_MD = {
    (S.PENDING_PAYMENT, A.PAY): S.PAID,
    (S.PENDING_PAYMENT, A.CANCEL): S.CANCELLED,
    (S.PAID, A.FULFILL): S.FULFILLED,
    (S.PAID, A.REFUND): S.REFUNDED,
    (S.PAID, A.CANCEL): S.CANCELLED,
    (S.FULFILLED, A.REFUND): S.REFUNDED,
    (S.PAID, A.REQUEST_REFUND): S.REFUND_PENDING,
    (S.FULFILLED, A.REQUEST_REFUND): S.REFUND_PENDING,
    (S.REFUND_PENDING, A.REFUND): S.REFUNDED,
    (S.REFUND_PENDING, A.CANCEL): S.CANCELLED,
    (S.REFUND_PENDING, A.FAIL_REFUND): S.REFUND_FAILED,
    (S.REFUNDED, A.FAIL_REFUND): S.REFUND_FAILED,
    (S.CANCELLED, A.FAIL_REFUND): S.REFUND_FAILED,
    (S.PAID, A.FULFILL_PART): S.PARTIALLY_FULFILLED,
    (S.PARTIALLY_FULFILLED, A.FULFILL_PART): S.PARTIALLY_FULFILLED,
    (S.PARTIALLY_FULFILLED, A.FULFILL): S.FULFILLED,
    (S.PARTIALLY_FULFILLED, A.REQUEST_REFUND): S.REFUND_PENDING,
}


def test_transition_table_is_the_contracts() -> None:
    # Given the lifecycle of shared/API.md, Then the domain's table holds exactly those transitions
    assert dict(TRANSITIONS) == API_MD
    assert INITIAL_STATUS is S.PENDING_PAYMENT


def test_final_statuses_have_no_way_out_but_the_providers_failed_refund() -> None:
    # Given CANCELLED, REFUNDED and REFUND_FAILED, Then no operator action leaves them: only the provider's
    # report that the refund failed leaves the first two, and nothing leaves REFUND_FAILED
    assert {S.CANCELLED, S.REFUNDED, S.REFUND_FAILED} == FINAL_STATUSES
    assert actions_from(S.CANCELLED) == actions_from(S.REFUNDED) == {A.FAIL_REFUND}
    assert actions_from(S.REFUND_FAILED) == frozenset()


@pytest.mark.parametrize(("status", "action"), list(itertools.product(OrderStatus, OrderAction)))
def test_every_pair_outside_the_table_is_an_invalid_transition(status: OrderStatus, action: OrderAction) -> None:
    # Given any status and action
    if (status, action) in API_MD:
        # Then a pair of the table moves to its target
        assert next_status("o-1", status, action) is API_MD[(status, action)]
        return
    # Then any other pair is refused with 409 INVALID_TRANSITION naming the status and the action
    with pytest.raises(InvalidTransition) as refused:
        next_status("o-1", status, action)
    assert refused.value.code is ErrorCode.INVALID_TRANSITION
    assert refused.value.code.status == 409
    assert status.value in refused.value.detail
    assert action.value in refused.value.detail


def test_status_changes_are_the_tables_pairs() -> None:
    # Given the table, Then the (from, to) pairs the database must allow are its own
    assert status_changes() == {(current, target) for (current, _), target in API_MD.items()}
