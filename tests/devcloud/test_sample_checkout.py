"""The sample checkouts the seeding places are the ones the samples in events/ name: an id changed on one
side only would leave a sample finding nothing (tests/e2e/test_sample_events.py runs them; this says which)."""

from __future__ import annotations

import json
import uuid

from devcloud.demo_data import DEMO_CATALOG
from devcloud.sample_checkout import (
    PAID_CHECKOUT,
    PAYING_CHECKOUT,
    QUEUED_CHECKOUT,
    SAMPLE_CHECKOUTS,
    SAMPLE_TASK_TOKEN,
)
from tests.support.lambda_events import load_event

CHECKOUT_SAMPLES = {
    QUEUED_CHECKOUT: ("get_checkout", "cancel_checkout"),
    PAYING_CHECKOUT: ("admin_get_checkout",),
}
ORDER_SAMPLES = {
    PAYING_CHECKOUT: ("get_order", "admin_get_order", "create_fulfillment", "fulfill_order", "refund_order"),
    PAID_CHECKOUT: ("cancel_order",),
}


def test_the_http_samples_name_the_seeded_checkouts_and_orders() -> None:
    named = {
        **{s: (c.checkout_id, "checkoutId") for c, samples in CHECKOUT_SAMPLES.items() for s in samples},
        **{s: (c.order_id, "orderId") for c, samples in ORDER_SAMPLES.items() for s in samples},
    }
    for sample, (seeded_id, parameter) in named.items():
        event = load_event(sample)
        assert event["pathParameters"] == {parameter: seeded_id}, sample
        assert seeded_id in event["rawPath"], sample


def test_the_workflow_samples_name_the_paying_checkout_and_the_seeded_task_token() -> None:
    assert load_event("request_payment") == {
        "checkoutId": PAYING_CHECKOUT.checkout_id,
        "taskToken": SAMPLE_TASK_TOKEN,
    }
    assert load_event("complete_checkout")["checkoutId"] == PAYING_CHECKOUT.checkout_id


def test_the_queued_checkout_is_queued_for_admission_by_its_sample() -> None:
    bodies = [json.loads(record["body"]) for record in load_event("admit_checkouts")["Records"]]
    assert {"checkoutId": QUEUED_CHECKOUT.checkout_id} in bodies


def test_the_sample_checkouts_are_distinct_and_buy_demo_stock() -> None:
    skus = {variant.sku for product in DEMO_CATALOG for variant in product.variants}
    assert all(sample.sku in skus and sample.quantity >= 1 for sample in SAMPLE_CHECKOUTS)
    for attribute in ("checkout_id", "order_id", "customer_id"):
        values = [str(getattr(sample, attribute)) for sample in SAMPLE_CHECKOUTS]
        assert len(set(values)) == len(values), attribute
    # Canonical UUIDs, as the API's ids are (anything else names no checkout or order).
    assert all(str(uuid.UUID(s.checkout_id)) == s.checkout_id for s in SAMPLE_CHECKOUTS)
    assert all(str(uuid.UUID(s.order_id)) == s.order_id for s in SAMPLE_CHECKOUTS)
