"""Stock: on-hand, reserved and available counters per SKU, and all-or-nothing reservations.

`service` holds the operations (validate, then call the `StockLedger` port); `ports` the port;
`memory` an in-memory ledger with the same semantics as the DynamoDB adapter, for unit tests.
"""
