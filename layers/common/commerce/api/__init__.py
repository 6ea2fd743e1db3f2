"""The HTTP edge of every function: the resolver, request parsing, identities and problem+json."""
