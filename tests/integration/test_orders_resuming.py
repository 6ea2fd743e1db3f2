"""An auto-paused cluster resuming: the local Data API answers DatabaseResumingException (as Aurora Serverless v2
does for ~15 s after a pause) and the adapter retries within the request's budget, then answers 503.

The Data API's clock and the adapter's sleep are one fake clock here, so "15 seconds" pass instantly and the
outcome never depends on the machine's speed. One test runs a handler with real sleeps for a sub-second resume.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from commerce.adapters.orders_db.client import rds_data_client
from commerce.adapters.orders_db.data_api import DataApi
from commerce.adapters.orders_db.orders import DataApiOrderRepository
from commerce.adapters.orders_db.retry import RetryBudget
from commerce.domain.errors import ErrorCode
from commerce.domain.orders.errors import OrdersDatabaseResuming
from commerce.settings import load_settings
from localcloud.edge import EdgeApp
from localcloud.orders_db import DataApiApp, is_data_api
from localcloud.server import BackgroundServer
from tests.support.handlers import load_handler
from tests.support.lambda_events import FakeLambdaContext, http_event
from tests.support.orders import new_order
from tests.support.orders_db import (
    ADMIN_DATABASE,
    CLUSTER_ARN,
    SECRET_ARN,
    OrdersCloud,
    orders_cloud,
)
from tests.support.orders_db import (
    rds_data_client as local_client,
)

pytestmark = pytest.mark.integration


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class PausableDatabase:
    app: DataApiApp
    url: str
    database: str
    cloud: OrdersCloud

    def repository(self, budget_seconds: float, time: FakeTime) -> DataApiOrderRepository:
        def budget() -> RetryBudget:
            return RetryBudget(budget_seconds, clock=time.clock, sleep=time.sleep, draw=lambda: 0.5)

        return DataApiOrderRepository(DataApi(local_client(self.url), CLUSTER_ARN, SECRET_ARN, self.database, budget))


@pytest.fixture(scope="module")
def migrated() -> tuple[OrdersCloud, str]:
    cloud = orders_cloud()
    return cloud, cloud.migrated_database("resuming")


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@contextmanager
def pausable(cloud: OrdersCloud, database: str, clock: Callable[[], float]) -> Iterator[PausableDatabase]:
    """Its own Data API (on the shared PostgreSQL) whose resume switch and clock belong to one test."""
    app = DataApiApp(cloud.postgres.conninfo, database=ADMIN_DATABASE, resuming_seconds=0, clock=clock)
    edge = EdgeApp()
    edge.intercept(is_data_api, app)
    try:
        with BackgroundServer(edge, name="resuming-data-api") as server:
            yield PausableDatabase(app, server.url, database, cloud)
    finally:
        app.close()


@pytest.fixture
def paused(migrated: tuple[OrdersCloud, str], time_: FakeTime) -> Iterator[PausableDatabase]:
    with pausable(*migrated, clock=time_.clock) as database:
        yield database


def test_a_resume_within_the_budget_is_waited_for(paused: PausableDatabase, time_: FakeTime) -> None:
    # Given an order, and then the cluster pausing: it resumes 15 s after the next call
    order = paused.cloud.repository(paused.database).create(new_order())
    paused.app.simulate_resuming(15)
    # When a request with 25 s to spare reads the order
    found = paused.repository(25, time_).get(order.order_id)
    # Then it waited (backing off) until the cluster answered, and got the order
    assert found == order
    assert sum(time_.slept) >= 15
    assert time_.slept == sorted(time_.slept)  # backing off, not hammering


def test_a_resume_longer_than_the_budget_is_503_with_retry_after(paused: PausableDatabase, time_: FakeTime) -> None:
    # Given a cluster that takes 15 s to resume, and a request with 8.5 s to spare
    paused.app.simulate_resuming(15)
    order = new_order()
    # When the request tries to create an order
    with pytest.raises(OrdersDatabaseResuming) as gave_up:
        paused.repository(8.5, time_).create(order)
    # Then it gave up in time with 503 DATABASE_RESUMING and a Retry-After, and wrote nothing
    assert gave_up.value.code is ErrorCode.DATABASE_RESUMING
    assert int(gave_up.value.headers["Retry-After"]) > 0
    assert sum(time_.slept) <= 8.5
    paused.app.simulate_resuming(0)
    assert paused.cloud.repository(paused.database).get(order.order_id) is None


@pytest.fixture
def paused_in_real_time(migrated: tuple[OrdersCloud, str]) -> Iterator[PausableDatabase]:
    with pausable(*migrated, clock=time.monotonic) as database:
        yield database


def test_a_handler_answers_503_then_serves_once_resumed(
    paused_in_real_time: PausableDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the admin order endpoint configured for this database, and an order
    paused = paused_in_real_time
    order = paused.cloud.repository(paused.database).create(new_order())
    for name, value in {
        "ORDERS_DB_CLUSTER_ARN": CLUSTER_ARN,
        "ORDERS_DB_SECRET_ARN": SECRET_ARN,
        "ORDERS_DB_NAME": paused.database,
        "AWS_ENDPOINT_URL_RDS_DATA": paused.url,
    }.items():
        monkeypatch.setenv(name, value)
    load_settings.cache_clear()
    rds_data_client.cache_clear()
    handler = load_handler("admin_get_order", fresh=True)
    event = http_event("admin_get_order", path_parameters={"orderId": order.order_id})
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/admin/orders/{order.order_id}"

    class ShortContext(FakeLambdaContext):
        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 2_000  # 0.5 s after the reserve: no time to wait for a resume

    # When the cluster is resuming and the invocation has 2 s left
    paused.app.simulate_resuming(60)
    response = handler(event, ShortContext())
    # Then the operator gets 503 DATABASE_RESUMING with Retry-After, as problem+json
    assert response["statusCode"] == 503
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert json.loads(response["body"])["code"] == "DATABASE_RESUMING"
    assert int(response["headers"]["Retry-After"]) > 0
    # When the cluster resumes within the next invocation's 10 s (in real time: under a second)
    paused.app.simulate_resuming(0.6)
    response = handler(event, FakeLambdaContext())
    # Then the request waits for it and answers the order
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["orderId"] == order.order_id
