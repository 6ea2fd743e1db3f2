"""The `OrderRepository` of commerce.domain.orders over the Data API (schema: db/migrations).

Round trips, each one Data API call:
- `get`: 1 statement; the order, its lines and its events come back as one JSON document per order
  (json_build_object / json_agg), so a page of orders is one call too, whatever its lines and events.
- `find`: 1 statement, keyset-paginated on (created_at DESC, order_id DESC), served by the index of the
  filter used (status, lower(email), created_at, session, customer).
- `create`: Begin, INSERT the order (ON CONFLICT DO NOTHING: a retried checkout finds its order),
  BatchExecute the lines, INSERT the creation event, Commit: 5 calls, all or nothing.
- `transition`: 1 statement: the UPDATE guarded by the expected status and the INSERT of the event in
  one data-modifying CTE. One statement is one transaction in PostgreSQL, so the status change and its
  event commit together or not at all, and two racing transitions cannot both match `status = :expected`.
  A fulfilment event that no longer fits what is left to ship (another fulfilment committed first) is refused
  by the database's fulfilment trigger (SQLSTATE CF001 / CF002, 0005_fulfilments.sql): answered False too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from commerce.adapters.orders_db.client import rds_data_client
from commerce.adapters.orders_db.data_api import DataApi
from commerce.adapters.orders_db.errors import FULFILMENT_REFUSED, StatementFailed
from commerce.adapters.orders_db.parameters import Json, Uuid
from commerce.adapters.orders_db.retry import LambdaContextLike, RetryBudget
from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.domain.money import Money
from commerce.domain.orders.errors import OrderIdTaken
from commerce.domain.orders.models import (
    NewOrder,
    Order,
    OrderEvent,
    OrderFilters,
    OrderLine,
    OrderOwner,
    OrderPage,
    OrderPosition,
    OrderStatus,
    ShippingAddress,
)


def utc(parameter: str) -> str:
    """SQL turning a TIMESTAMP-hinted parameter (UTC wall time) into a timestamptz, whatever type the Data
    API declares it with (pgjdbc may send it untyped: the explicit cast keeps `AT TIME ZONE` unambiguous)."""
    return "(CAST(:" + parameter + " AS timestamp) AT TIME ZONE 'UTC')"


ORDER_DOCUMENT = """
SELECT json_build_object(
    'orderId', o.order_id,
    'checkoutId', o.checkout_id,
    'sessionId', o.session_id,
    'customerId', o.customer_id,
    'email', o.email,
    'status', o.status,
    'currency', o.currency,
    'subtotal', o.subtotal_amount,
    'total', o.total_amount,
    'shippingAddress', o.shipping_address,
    'createdAt', o.created_at,
    'updatedAt', o.updated_at,
    'lines', (
        SELECT coalesce(json_agg(json_build_object(
            'sku', l.sku, 'productId', l.product_id, 'name', l.name, 'quantity', l.quantity,
            'unitAmount', l.unit_amount, 'currency', l.currency) ORDER BY l.line_no), '[]'::json)
        FROM order_lines l WHERE l.order_id = o.order_id),
    'events', (
        SELECT coalesce(json_agg(json_build_object(
            'type', e.type, 'at', e.at, 'actor', e.actor, 'fromStatus', e.from_status,
            'toStatus', e.to_status, 'detail', e.detail) ORDER BY e.event_id), '[]'::json)
        FROM order_events e WHERE e.order_id = o.order_id)
)::text AS document
FROM orders o"""

INSERT_ORDER = """
INSERT INTO orders (order_id, checkout_id, session_id, customer_id, email, status, currency,
                    subtotal_amount, total_amount, shipping_address, created_at, updated_at)
VALUES (:order_id, :checkout_id, :session_id, :customer_id, :email, 'PENDING_PAYMENT', :currency,
        :subtotal, :total, CAST(:shipping_address AS jsonb),
        (CAST(:created_at AS timestamp) AT TIME ZONE 'UTC'), (CAST(:created_at AS timestamp) AT TIME ZONE 'UTC'))
ON CONFLICT DO NOTHING
RETURNING order_id::text AS order_id"""

INSERT_LINE = """
INSERT INTO order_lines (order_id, line_no, sku, product_id, name, quantity, unit_amount, currency)
VALUES (:order_id, :line_no, :sku, :product_id, :name, :quantity, :unit_amount, :currency)"""

INSERT_EVENT = """
INSERT INTO order_events (order_id, type, from_status, to_status, actor, at, detail)
VALUES (:order_id, :type, :from_status, :to_status, :actor,
        (CAST(:at AS timestamp) AT TIME ZONE 'UTC'), CAST(:detail AS jsonb))"""

TRANSITION = """
WITH moved AS (
    UPDATE orders
    SET status = :to_status, updated_at = GREATEST(updated_at, (CAST(:at AS timestamp) AT TIME ZONE 'UTC'))
    WHERE order_id = :order_id AND status = :expected
    RETURNING order_id
), recorded AS (
    INSERT INTO order_events (order_id, type, from_status, to_status, actor, at, detail)
    SELECT order_id, :type, :expected, :to_status, :actor,
           (CAST(:at AS timestamp) AT TIME ZONE 'UTC'), CAST(:detail AS jsonb)
    FROM moved
    RETURNING event_id
)
SELECT count(*) AS moved FROM recorded"""

ORDER_BY_ID = ORDER_DOCUMENT + "\nWHERE o.order_id = :order_id"
ORDER_BY_CHECKOUT = ORDER_DOCUMENT + "\nWHERE o.checkout_id = :checkout_id"


def order_repository(settings: OrdersDbSettings, context: LambdaContextLike) -> DataApiOrderRepository:
    """The orders of a function's database, waiting for a resuming cluster at most the invocation's time left."""
    db = DataApi(
        rds_data_client(),
        settings.orders_db_cluster_arn,
        settings.orders_db_secret_arn,
        settings.orders_db_name,
        budget=lambda: RetryBudget.for_lambda(context),
    )
    return DataApiOrderRepository(db)


class DataApiOrderRepository:
    def __init__(self, db: DataApi) -> None:
        self._db = db

    def create(self, order: NewOrder) -> Order:
        with self._db.transaction() as tx:
            inserted = tx.execute(INSERT_ORDER, _order_parameters(order))
            if inserted:
                tx.batch_execute(
                    INSERT_LINE, [_line_parameters(order.order_id, i, line) for i, line in enumerate(order.lines)]
                )
                tx.execute_update(INSERT_EVENT, _event_parameters(order.order_id, order.creation_event()))
        if inserted:
            return order.as_order()
        existing = self._one(ORDER_BY_CHECKOUT, {"checkout_id": order.checkout_id})
        if existing is None:
            # Nothing was inserted and the checkout has no order: the order id is another checkout's.
            raise OrderIdTaken(order.order_id, order.checkout_id)
        return existing

    def get(self, order_id: str) -> Order | None:
        return self._one(ORDER_BY_ID, {"order_id": Uuid(order_id)})

    def find(
        self, filters: OrderFilters, owner: OrderOwner | None, limit: int, after: OrderPosition | None
    ) -> OrderPage:
        sql, parameters = find_statement(filters, owner, limit, after)
        orders = [order_from_document(row["document"]) for row in self._db.execute(sql, parameters)]
        page = tuple(orders[:limit])
        return OrderPage(orders=page, next_position=page[-1].position if len(orders) > limit else None)

    def transition(self, order_id: str, expected: OrderStatus, event: OrderEvent) -> bool:
        if event.to_status is None:
            raise ValueError("a transition event names the status it moves to")
        parameters = {
            **_event_parameters(order_id, event),
            "expected": expected.value,
        }
        del parameters["from_status"]
        try:
            rows = self._db.execute(TRANSITION, parameters)
        except StatementFailed as refused:
            if refused.sqlstate in FULFILMENT_REFUSED:
                return False  # another fulfilment changed what is left to ship since the caller read the order
            raise
        return bool(rows and rows[0]["moved"] == 1)

    def _one(self, sql: str, parameters: dict[str, Any]) -> Order | None:
        rows = self._db.execute(sql, parameters)
        return order_from_document(rows[0]["document"]) if rows else None


def find_statement(
    filters: OrderFilters, owner: OrderOwner | None, limit: int, after: OrderPosition | None
) -> tuple[str, dict[str, Any]]:
    """The listing's SQL: only the conditions in use, so the planner picks the index that serves them."""
    conditions: list[str] = []
    parameters: dict[str, Any] = {"limit": limit + 1}
    if filters.status is not None:
        conditions.append("o.status = :status")
        parameters["status"] = filters.status.value
    if filters.email is not None:
        conditions.append("lower(o.email) = lower(:email)")
        parameters["email"] = filters.email
    if filters.created_from is not None:
        conditions.append(f"o.created_at >= {utc('created_from')}")
        parameters["created_from"] = filters.created_from
    if filters.created_to is not None:
        conditions.append(f"o.created_at < {utc('created_to')}")
        parameters["created_to"] = filters.created_to
    if owner is not None:
        mine = []
        if owner.session_id is not None:
            mine.append("o.session_id = :session_id")
            parameters["session_id"] = owner.session_id
        if owner.customer_id is not None:
            mine.append("o.customer_id = :customer_id")
            parameters["customer_id"] = owner.customer_id
        conditions.append(f"({' OR '.join(mine)})")
    if after is not None:
        conditions.append(f"(o.created_at, o.order_id) < ({utc('after_created_at')}, :after_order_id)")
        parameters["after_created_at"] = after.created_at
        parameters["after_order_id"] = Uuid(after.order_id)
    where = "\nWHERE " + " AND ".join(conditions) if conditions else ""
    # Only constant fragments are assembled here; every value travels as a parameter.
    sql = ORDER_DOCUMENT + where + "\nORDER BY o.created_at DESC, o.order_id DESC\nLIMIT :limit"
    return sql, parameters


def _order_parameters(order: NewOrder) -> dict[str, Any]:
    return {
        "order_id": Uuid(order.order_id),
        "checkout_id": order.checkout_id,
        "session_id": order.owner.session_id,
        "customer_id": order.owner.customer_id,
        "email": order.email,
        "currency": order.currency,
        "subtotal": order.subtotal.amount,
        "total": order.total.amount,
        "shipping_address": Json(order.shipping_address.to_json()),
        "created_at": order.created_at,
    }


def _line_parameters(order_id: str, line_no: int, line: OrderLine) -> dict[str, Any]:
    return {
        "order_id": Uuid(order_id),
        "line_no": line_no,
        "sku": line.sku,
        "product_id": line.product_id,
        "name": line.name,
        "quantity": line.quantity,
        "unit_amount": line.unit_price.amount,
        "currency": line.unit_price.currency,
    }


def _event_parameters(order_id: str, event: OrderEvent) -> dict[str, Any]:
    return {
        "order_id": Uuid(order_id),
        "type": event.type,
        "from_status": event.from_status.value if event.from_status else None,
        "to_status": event.to_status.value if event.to_status else None,
        "actor": event.actor,
        "at": event.at,
        "detail": Json(dict(event.detail)),
    }


# ---------------------------------------------------------------------------------------------- documents


def order_from_document(document: str) -> Order:
    data = json.loads(document)
    currency = str(data["currency"])
    return Order(
        order_id=str(data["orderId"]),
        checkout_id=str(data["checkoutId"]),
        owner=OrderOwner(session_id=data["sessionId"], customer_id=data["customerId"]),
        email=str(data["email"]),
        status=OrderStatus(data["status"]),
        lines=tuple(
            OrderLine(
                sku=str(line["sku"]),
                product_id=str(line["productId"]),
                name=str(line["name"]),
                quantity=int(line["quantity"]),
                unit_price=Money(int(line["unitAmount"]), str(line["currency"])),
            )
            for line in data["lines"]
        ),
        subtotal=Money(int(data["subtotal"]), currency),
        total=Money(int(data["total"]), currency),
        shipping_address=ShippingAddress.from_json(data["shippingAddress"]),
        created_at=_instant(data["createdAt"]),
        updated_at=_instant(data["updatedAt"]),
        events=tuple(
            OrderEvent(
                type=str(event["type"]),
                at=_instant(event["at"]),
                actor=str(event["actor"]),
                from_status=OrderStatus(event["fromStatus"]) if event["fromStatus"] else None,
                to_status=OrderStatus(event["toStatus"]) if event["toStatus"] else None,
                detail=dict(event["detail"] or {}),
            )
            for event in data["events"]
        ),
    )


def _instant(text: str) -> datetime:
    """PostgreSQL's JSON rendering of a timestamptz (ISO 8601 with the session's offset), in UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)
