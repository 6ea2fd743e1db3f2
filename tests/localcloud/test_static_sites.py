"""localcloud.static_sites: a distribution's S3 origin served over HTTP from the local S3 (moto), JSON objects with
the stack's AWS endpoint URLs replaced by the local ones, and CloudFront identities shaped like AWS's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from werkzeug.test import Client

from localcloud.static_sites.site import StaticSiteApp
from localcloud.template.identity import Scope, deterministic_identity

pytestmark = pytest.mark.localcloud

BUCKET = "site-test"
REWRITES = {
    "https://abc123.execute-api.us-east-1.amazonaws.com": "http://127.0.0.1:3000",
    "https://cognito-idp.us-east-1.amazonaws.com": "http://127.0.0.1:4566",
}


@pytest.fixture
def site() -> Iterator[tuple[Client, Any]]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield Client(StaticSiteApp(s3, BUCKET, "index.html", REWRITES)), s3


def test_objects_are_served_with_their_content_type(site: tuple[Client, Any]) -> None:
    client, s3 = site
    s3.put_object(Bucket=BUCKET, Key="index.html", Body=b"<h1>hi</h1>", ContentType="text/html; charset=utf-8")
    s3.put_object(Bucket=BUCKET, Key="js/main.js", Body=b"export {};", ContentType="text/javascript")
    root = client.get("/")
    assert (root.status_code, root.data, root.headers["Content-Type"]) == (
        200,
        b"<h1>hi</h1>",
        "text/html; charset=utf-8",
    )
    script = client.get("/js/main.js")
    assert (script.status_code, script.headers["Content-Type"]) == (200, "text/javascript")
    head = client.head("/js/main.js")
    assert (head.status_code, head.data, head.headers["Content-Length"]) == (200, b"", "10")


def test_json_names_the_local_endpoints(site: tuple[Client, Any]) -> None:
    client, s3 = site
    body = b'{"apiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com", "other": "https://example.com"}'
    s3.put_object(Bucket=BUCKET, Key="config.json", Body=body, ContentType="application/json")
    s3.put_object(Bucket=BUCKET, Key="notes.txt", Body=body, ContentType="text/plain")
    assert client.get("/config.json").json == {"apiUrl": "http://127.0.0.1:3000", "other": "https://example.com"}
    assert client.get("/notes.txt").data == body  # only JSON documents are translated


def test_missing_objects_and_other_methods(site: tuple[Client, Any]) -> None:
    client, _ = site
    assert client.get("/nope.js").status_code == 404
    assert client.post("/index.html").status_code == 405


def test_distribution_identities_are_stable_and_shaped_like_aws() -> None:
    scope = Scope(region="us-east-1", account_id="123456789012", stack_name="commerce-local")
    first = deterministic_identity(scope, "ConsoleDistribution", "AWS::CloudFront::Distribution", {})
    again = deterministic_identity(scope, "ConsoleDistribution", "AWS::CloudFront::Distribution", {})
    assert first == again
    assert first.attributes["DomainName"].endswith(".cloudfront.net")
    assert first.ref == first.attributes["Id"]
    assert first.ref.startswith("E")
    assert deterministic_identity(scope, "Oac", "AWS::CloudFront::OriginAccessControl", {}).attributes["Id"]
