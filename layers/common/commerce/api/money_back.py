"""What the operator's order actions that move money (refund, cancelling a paid order) are built from,
once per container: their settings, the checkout and payment records, and the payment provider."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field

from commerce.adapters.dynamodb.checkouts import DynamoDbCheckouts
from commerce.adapters.dynamodb.payments import DynamoDbPaymentRecords
from commerce.adapters.orders_db.orders import order_repository
from commerce.adapters.orders_db.settings import OrdersDbSettings
from commerce.adapters.payments import PaymentsSettings, StripePayments
from commerce.domain.payments.refunds import MoneyBack
from commerce.settings import load_settings


class MoneyBackSettings(OrdersDbSettings, PaymentsSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)


def money_back_factory() -> Callable[[Any], MoneyBack]:
    """Validates the settings now (cold start); the result gives a `MoneyBack` for one invocation's context."""
    settings = load_settings(MoneyBackSettings)
    checkouts = DynamoDbCheckouts(settings.table_name)
    records = DynamoDbPaymentRecords(settings.table_name)
    provider = StripePayments.from_settings(settings, network_retries=2)

    def for_invocation(lambda_context: Any) -> MoneyBack:
        return MoneyBack(order_repository(settings, lambda_context), checkouts, lambda: provider, records)

    return for_invocation
