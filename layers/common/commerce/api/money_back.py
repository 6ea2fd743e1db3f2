"""The operator's order actions that move money (refund, cancelling a paid order), as handlers call them.

Their settings are validated at cold start; everything else (the refund logic, the checkout and payment
records, the payment provider) is imported and built on first use: most of these requests never reach
the provider, and cold start is a feature.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import Field

from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.adapters.payments import PaymentsSettings
from commerce.settings import load_settings

if TYPE_CHECKING:
    from commerce.domain.orders.models import Order
    from commerce.domain.payments.refunds import MoneyBack


class MoneyBackSettings(OrdersDbSettings, PaymentsSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)


class MoneyBackActions:
    def __init__(self) -> None:
        self.settings = load_settings(MoneyBackSettings)

    def refund(self, lambda_context: Any, order_id: str, actor: str) -> Order:
        """PAID or FULFILLED -> REFUNDED (commerce.domain.payments.refunds.refund_order)."""
        from commerce.domain.payments.refunds import refund_order

        return refund_order(self._money_back(lambda_context), order_id, actor=actor)

    def cancel(self, lambda_context: Any, order_id: str, actor: str) -> Order:
        """Not paid: CANCELLED; PAID: refunded, then CANCELLED (commerce.domain.payments.refunds.cancel_order)."""
        from commerce.domain.payments.refunds import cancel_order

        return cancel_order(self._money_back(lambda_context), order_id, actor=actor)

    def _money_back(self, lambda_context: Any) -> MoneyBack:
        from commerce.adapters.orders_db.orders import order_repository
        from commerce.domain.payments.refunds import MoneyBack

        checkouts, records = self._records()
        return MoneyBack(order_repository(self.settings, lambda_context), checkouts, self._provider, records)

    @cache  # noqa: B019 - one instance per container, for the container's life
    def _records(self) -> tuple[Any, Any]:
        from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
        from commerce.adapters.dynamodb.payments import DynamoDbPaymentRecords

        return DynamoDbCheckouts(self.settings.table_name), DynamoDbPaymentRecords(self.settings.table_name)

    @cache  # noqa: B019 - one instance per container, for the container's life
    def _provider(self) -> Any:
        from commerce.adapters.payments import StripePayments

        return StripePayments.from_settings(self.settings, network_retries=2)
