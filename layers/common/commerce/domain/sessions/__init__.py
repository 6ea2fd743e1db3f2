"""Guest sessions: opaque bearer tokens stored only as hashes, with a sliding expiry.

A session is what a storefront holds for a shopper: `POST /sessions` issues its token once, and the
token (header `X-Session-Token`) addresses the shopper's cart, checkouts and orders. A session may be
bound to a customer (a Cognito `sub`) once; from then on it is that customer's session.
"""
