"""Stripe's test-mode payment methods (`pm_card_visa`, `pm_card_chargeDeclined`, ...) and how each one ends.

Stripe documents these tokens for test mode: confirming a PaymentIntent with one of them creates a new
PaymentMethod for the card and charges it, succeeding or declining as the token says. The sandbox knows
the same tokens, so code and tests written against Stripe's test mode run unchanged here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decline:
    code: str  # the error's `code`: card_declined, expired_card, incorrect_cvc, processing_error
    decline_code: str  # the issuer's reason: generic_decline, insufficient_funds, ...
    message: str  # what Stripe says to show the customer
    outcome_type: str = "issuer_declined"
    network_status: str = "declined_by_network"


@dataclass(frozen=True)
class Card:
    brand: str
    last4: str
    decline: Decline | None = None
    funding: str = "credit"
    country: str = "US"
    exp_month: int = 12
    exp_year: int = 2034


_DECLINED = "Your card was declined."

TEST_PAYMENT_METHODS: dict[str, Card] = {
    "pm_card_visa": Card("visa", "4242"),
    "pm_card_visa_debit": Card("visa", "5556", funding="debit"),
    "pm_card_mastercard": Card("mastercard", "4444"),
    "pm_card_amex": Card("amex", "8431"),
    "pm_card_chargeDeclined": Card("visa", "0002", Decline("card_declined", "generic_decline", _DECLINED)),
    "pm_card_chargeDeclinedInsufficientFunds": Card(
        "visa", "9995", Decline("card_declined", "insufficient_funds", "Your card has insufficient funds.")
    ),
    "pm_card_chargeDeclinedLostCard": Card("visa", "9987", Decline("card_declined", "lost_card", _DECLINED)),
    "pm_card_chargeDeclinedStolenCard": Card("visa", "9979", Decline("card_declined", "stolen_card", _DECLINED)),
    "pm_card_chargeDeclinedFraudulent": Card(
        "visa",
        "0019",
        Decline("card_declined", "fraudulent", _DECLINED, outcome_type="blocked", network_status="not_sent_to_network"),
    ),
    "pm_card_chargeDeclinedExpiredCard": Card(
        "visa", "0069", Decline("expired_card", "expired_card", "Your card has expired.")
    ),
    "pm_card_chargeDeclinedIncorrectCvc": Card(
        "visa", "0127", Decline("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.")
    ),
    "pm_card_chargeDeclinedProcessingError": Card(
        "visa",
        "0119",
        Decline(
            "processing_error",
            "processing_error",
            "An error occurred while processing your card. Try again in a little bit.",
        ),
    ),
}
