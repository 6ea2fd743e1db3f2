"""Pure business logic: no AWS SDK, no Powertools event types. Adapters are passed in as Protocols."""
