"""The router's own failure: an issuer's signing keys that cannot be had.

How the Lambda side fails is told by the runtime's own errors (`localcloud.lambda_service.runtime`): a function
that ran and failed (`FunctionError`: crash, timeout, unhandled error) is a bad gateway (502); the
Lambda service refusing to run it at all (any other `InvokeError`, such as `FunctionThrottled`) is the
gateway's own internal error (500).
"""

from __future__ import annotations


class JwksUnavailable(Exception):
    """The signing keys of a JWT issuer could not be obtained (unknown issuer, identity provider down)."""
