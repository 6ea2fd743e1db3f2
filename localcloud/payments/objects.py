"""Stripe-shaped JSON objects: payment_intent, payment_method, charge, refund, event.

Pure builders: they take the facts and return the dict Stripe would render, with the fields Stripe's
clients read (and the rest present as null, as Stripe renders them). The ledger owns and mutates them.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from localcloud.payments.cards import Card, Decline
from localcloud.payments.ids import new_id, random_token

# The API version the sandbox reports on events (the one stripe-python 16 pins); responses echo `Stripe-Version`.
API_VERSION = "2026-10-28.endive"


def now() -> int:
    return int(time.time())


def payment_intent(
    *,
    amount: int,
    currency: str,
    metadata: dict[str, str],
    description: str | None,
    payment_method_types: list[str],
    automatic_payment_methods: dict[str, Any] | None,
    capture_method: str,
    confirmation_method: str,
    extras: dict[str, Any],
) -> dict[str, Any]:
    intent_id = new_id("pi")
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": automatic_payment_methods,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": capture_method,
        "client_secret": f"{intent_id}_secret_{random_token(25)}",
        "confirmation_method": confirmation_method,
        "created": now(),
        "currency": currency,
        "customer": extras.get("customer"),
        "description": description,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": metadata,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": extras.get("payment_method_options") or {},
        "payment_method_types": payment_method_types,
        "processing": None,
        "receipt_email": extras.get("receipt_email"),
        "review": None,
        "setup_future_usage": extras.get("setup_future_usage"),
        "shipping": extras.get("shipping"),
        "source": None,
        "statement_descriptor": extras.get("statement_descriptor"),
        "statement_descriptor_suffix": extras.get("statement_descriptor_suffix"),
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": extras.get("transfer_group"),
    }


def payment_method(card: Card) -> dict[str, Any]:
    return {
        "id": new_id("pm"),
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": None,
            "name": None,
            "phone": None,
        },
        "card": {
            "brand": card.brand,
            "checks": {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "unchecked"},
            "country": card.country,
            "display_brand": card.brand,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "fingerprint": random_token(16),
            "funding": card.funding,
            "generated_from": None,
            "last4": card.last4,
            "networks": {"available": [card.brand], "preferred": None},
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": now(),
        "customer": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def charge(intent: dict[str, Any], method: dict[str, Any], decline: Decline | None) -> dict[str, Any]:
    paid = decline is None
    card = method["card"]
    if decline is None:
        outcome = {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    else:
        outcome = {
            "network_status": decline.network_status,
            "reason": decline.decline_code,
            "risk_level": "normal",
            "seller_message": "The bank did not return any further details with this decline.",
            "type": decline.outcome_type,
        }
    return {
        "id": new_id("ch"),
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"] if paid else 0,
        "amount_refunded": 0,
        "balance_transaction": new_id("txn") if paid else None,
        "billing_details": copy.deepcopy(method["billing_details"]),
        "calculated_statement_descriptor": intent["statement_descriptor"] or "LOCALCLOUD",
        "captured": paid,
        "created": now(),
        "currency": intent["currency"],
        "customer": intent["customer"],
        "description": intent["description"],
        "disputed": False,
        "failure_code": None if decline is None else decline.code,
        "failure_message": None if decline is None else decline.message,
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "outcome": outcome,
        "paid": paid,
        "payment_intent": intent["id"],
        "payment_method": method["id"],
        "payment_method_details": {
            "card": {
                "brand": card["brand"],
                "country": card["country"],
                "exp_month": card["exp_month"],
                "exp_year": card["exp_year"],
                "fingerprint": card["fingerprint"],
                "funding": card["funding"],
                "last4": card["last4"],
                "network": card["brand"],
            },
            "type": "card",
        },
        "receipt_email": intent["receipt_email"],
        "receipt_url": None,
        "refunded": False,
        "status": "succeeded" if paid else "failed",
    }


def card_error(decline: Decline, charge_id: str, method: dict[str, Any]) -> dict[str, Any]:
    """The `last_payment_error` Stripe records on an intent when its charge is declined."""
    return {
        "charge": charge_id,
        "code": decline.code,
        "decline_code": decline.decline_code,
        "doc_url": f"https://stripe.com/docs/error-codes/{decline.code.replace('_', '-')}",
        "message": decline.message,
        "payment_method": copy.deepcopy(method),
        "type": "card_error",
    }


def refund(charge: dict[str, Any], amount: int, reason: str | None, metadata: dict[str, str]) -> dict[str, Any]:
    return {
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn"),
        "charge": charge["id"],
        "created": now(),
        "currency": charge["currency"],
        "destination_details": {
            "card": {"reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund"},
            "type": "card",
        },
        "metadata": metadata,
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def event(
    event_type: str,
    obj: dict[str, Any],
    *,
    request_id: str | None,
    idempotency_key: str | None,
    pending_webhooks: int,
    previous_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"object": copy.deepcopy(obj)}
    if previous_attributes:
        data["previous_attributes"] = previous_attributes
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": now(),
        "data": data,
        "livemode": False,
        "pending_webhooks": pending_webhooks,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }


def list_of(data: list[dict[str, Any]], url: str, *, has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}
