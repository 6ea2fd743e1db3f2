"""How the Lambda side of an invocation fails, as the HTTP API router must tell the cases apart.

API Gateway answers differently depending on who failed: a function that ran and failed (crash,
timeout, unhandled error) is a bad gateway (502); the Lambda service refusing to run it at all
(throttled, concurrency exhausted) is the gateway's own internal error (500).
"""

from __future__ import annotations


class FunctionError(Exception):
    """The function ran but did not return normally: it raised, crashed or timed out.

    The local Lambda runtime raises this where AWS Lambda would answer with `FunctionError` set.
    """

    def __init__(self, message: str, *, error_type: str = "Unhandled") -> None:
        super().__init__(message)
        self.error_type = error_type


class InvocationRejected(Exception):
    """The Lambda service refused to run the function (e.g. TooManyRequestsException when throttled)."""

    def __init__(self, message: str, *, code: str = "TooManyRequestsException") -> None:
        super().__init__(message)
        self.code = code


class JwksUnavailable(Exception):
    """The signing keys of a JWT issuer could not be obtained (unknown issuer, identity provider down)."""
