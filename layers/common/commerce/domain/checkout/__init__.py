"""Checkout: turning a cart into a paid order (API.md "Checkout semantics")."""
