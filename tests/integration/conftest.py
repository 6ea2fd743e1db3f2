"""Fixtures of the checkout workflow's integration tests (harness: tests/support/checkout_saga.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.checkout_saga import Payments, payments_database, payments_sandbox, payments_world
from tests.support.orders_db import OrdersCloud
from tests.support.payments import Served, WebhookReceiver


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[Served, WebhookReceiver]]:
    # One sandbox per module: every test makes its own intents, so they cannot interfere.
    with payments_sandbox() as served:
        yield served


@pytest.fixture(scope="module")
def database(request: pytest.FixtureRequest) -> tuple[OrdersCloud, str]:
    """A migrated orders database of the module's own (named after it)."""
    return payments_database(request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_"))


@pytest.fixture
def payments(
    sandbox: tuple[Served, WebhookReceiver], database: tuple[OrdersCloud, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Payments]:
    with payments_world(sandbox, database, monkeypatch) as world:
        yield world
