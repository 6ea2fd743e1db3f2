"""template.yaml's operator console: a private bucket read only by its CloudFront distribution, a deploy custom
resource whose trigger property follows console/, least-privilege functions, and CORS for the console only in prod."""

from __future__ import annotations

import tomllib
from typing import Any

from commerce.adapters.static_site import site_checksum
from tests.support.template import ROOT, load_template, resource

CONSOLE = ROOT / "console"


def props(logical_id: str) -> dict[str, Any]:
    return resource(logical_id)["Properties"]


def test_console_checksum_follows_the_console_files() -> None:
    expected = site_checksum(CONSOLE)
    assert props("ConsoleSite")["ConsoleChecksum"] == expected, (
        f"set ConsoleSite.Properties.ConsoleChecksum in template.yaml to {expected!r}"
    )


def test_the_console_files_ship_with_the_deploy_function() -> None:
    link = ROOT / "functions" / "deploy_console" / "site"
    assert link.is_symlink()
    assert link.resolve() == CONSOLE.resolve()
    assert (link / "index.html").is_file()


def test_the_bucket_is_private_and_read_by_the_distribution_only() -> None:
    bucket = props("ConsoleBucket")
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (statement,) = props("ConsoleBucketPolicy")["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == "s3:GetObject"
    assert "ConsoleDistribution" in str(statement["Condition"]["StringEquals"]["AWS:SourceArn"])
    (origin,) = props("ConsoleDistribution")["DistributionConfig"]["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": ["ConsoleBucket", "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["ConsoleOriginAccessControl", "Id"]}
    behaviour = props("ConsoleDistribution")["DistributionConfig"]["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"


def test_the_deploy_function_only_writes_the_console_bucket() -> None:
    actions = {
        action: str(statement["Resource"])
        for policy in props("DeployConsoleFunction")["Policies"]
        for statement in policy["Statement"]
        for action in statement["Action"]
    }
    assert set(actions) == {"s3:ListBucket", "s3:PutObject", "s3:DeleteObject"}
    assert all("ConsoleBucket" in resource_ for resource_ in actions.values())


def test_console_url_is_an_output_and_prod_allows_only_the_console_origin() -> None:
    template = load_template()
    assert "ConsoleDistribution.DomainName" in str(template["Outputs"]["ConsoleUrl"]["Value"])
    origins = props("HttpApi")["CorsConfiguration"]["AllowOrigins"]
    assert origins == [
        {
            "Fn::If": [
                "CorsForConsoleOnly",
                {"Fn::Sub": "https://${ConsoleDistribution.DomainName}"},
                {"Ref": "CorsAllowOrigin"},
            ]
        }
    ]
    samconfig = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert "CorsAllowOrigin=console" in samconfig["prod"]["deploy"]["parameters"]["parameter_overrides"]
