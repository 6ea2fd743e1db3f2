"""The local cloud's API Gateway: HTTP APIs (payload format 2.0) with JWT authorizers, CORS and throttling.

`HttpApiGateway` is a WSGI app for one `localcloud.model.HttpApi`; the Lambda runtime gives it an
`invoke(function_logical_id, event)` that raises the runtime's `FunctionError` or another `InvokeError`,
and `CognitoJwks` gives it the signing keys of the local Cognito user pools.
"""

from localcloud.http_api.errors import JwksUnavailable
from localcloud.http_api.gateway import MAX_REQUEST_BODY_BYTES, HttpApiGateway, Invoke
from localcloud.http_api.jwks import CognitoJwks, JwksProvider

__all__ = [
    "MAX_REQUEST_BODY_BYTES",
    "CognitoJwks",
    "HttpApiGateway",
    "Invoke",
    "JwksProvider",
    "JwksUnavailable",
]
