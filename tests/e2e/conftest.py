"""End-to-end tests: HTTP against the local cloud, the way a storefront or an operator calls."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.support.local_cloud import RunningCloud

pytestmark = pytest.mark.e2e


class Api:
    """A thin HTTP client for the API: every call checks the contract's invariants (X-Request-Id, problem+json)."""

    def __init__(self, cloud: RunningCloud) -> None:
        self.cloud = cloud
        self.http = requests.Session()

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.http.request(method, self.cloud.api_url + path, timeout=30, **kwargs)
        if response.status_code >= 400 and response.headers.get("content-type", "").startswith("application/problem"):
            problem = response.json()
            assert problem["status"] == response.status_code
            assert problem["code"].isupper()
        # Function answers carry X-Request-Id; the gateway's own (401 from the authorizer, 404) apigw-requestid.
        assert response.headers.get("X-Request-Id") or response.headers.get("apigw-requestid")
        return response

    def new_session(self) -> str:
        response = self.call("POST", "/sessions")
        assert response.status_code == 201
        return str(response.json()["token"])

    def operator(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.cloud.id_token('admin')}"}

    def customer(self, kind: str = "IdToken") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.cloud.id_token(None, kind)}"}

    def create_product(self, *, on_hand: int, price: int = 1500, currency: str = "EUR") -> dict[str, Any]:
        """A fresh product with one variant, stocked with `on_hand` units (through the operator API)."""
        sku = f"E2E-{uuid.uuid4().hex[:10].upper()}"
        body = {
            "name": f"E2E product {sku}",
            "description": "made by an end-to-end test",
            "category": "e2e",
            "variants": [{"sku": sku, "name": "Only", "price": {"amount": price, "currency": currency}}],
        }
        created = self.call("POST", "/admin/products", json=body, headers=self.operator())
        assert created.status_code == 201, created.text
        stocked = self.call("PUT", f"/admin/inventory/{sku}", json={"onHand": on_hand}, headers=self.operator())
        assert stocked.status_code == 200, stocked.text
        return {**created.json(), "sku": sku}


@pytest.fixture(scope="session")
def api(local_cloud: RunningCloud) -> Api:
    return Api(local_cloud)
