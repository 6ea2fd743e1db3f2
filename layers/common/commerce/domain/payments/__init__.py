"""Payments: asking the provider for money, hearing back from it (webhooks), and giving money back.

- `models`: payment intents, refunds, the payment record (which saga task waits for which intent, and the
  one outcome decided for it), provider events.
- `ports`: what this needs from the provider (Stripe), storage, the workflow engine and the event bus.
- `webhooks`: what a verified provider event changes; safe for duplicates and any delivery order.
- `refunds`: money back for a paid order (operator refund or cancel), with the stock returned once.
"""
