"""The HTTP API room's component: mounts the template's HTTP API on the API port once the stack is provisioned
(a consumer; the local cloud serves one API).

The router reads the runtime's own failures: 502 for a function that failed, 500 for a refusal.
"""

from __future__ import annotations

from localcloud.context import CloudContext
from localcloud.http_api.gateway import HttpApiGateway
from localcloud.http_api.jwks import CognitoJwks


class HttpApiService:
    def __init__(self) -> None:
        self._jwks: CognitoJwks | None = None

    def start(self, cloud: CloudContext) -> None:
        if not cloud.app.http_apis:
            return
        api = cloud.app.http_apis[0]
        self._jwks = CognitoJwks(cloud.edge_url)
        gateway = HttpApiGateway(
            api,
            cloud.invoke,
            self._jwks,
            region=cloud.region,
            account_id=cloud.app.account_id,
            api_id=api.api_id or api.logical_id,
        )
        cloud.api.mount(gateway)

    def stop(self) -> None:
        if self._jwks is not None:
            self._jwks.close()
            self._jwks = None
