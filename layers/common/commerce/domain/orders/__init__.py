"""Orders: what a checkout bought, for whom, and the lifecycle an order then follows.

`models` holds the values, `lifecycle` the transition table of shared/API.md, `service` the operations
(create, read, search, transitions), `ports` the repository they need, `memory` an in-memory repository
with the Data API adapter's semantics (for tests), `owners` who may see an order, and `views` the JSON
shapes of the HTTP contract. Nothing here imports boto3 or knows about SQL.
"""
