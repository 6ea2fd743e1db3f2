"""`StaticSitesService`: a consumer of the local cloud that serves every CloudFront distribution of the stack
whose origin is one of the stack's S3 buckets, each on a free port of its own (see the package docstring)."""

from __future__ import annotations

from typing import Any

from localcloud.context import CloudContext
from localcloud.server import BackgroundServer
from localcloud.static_sites.site import StaticSiteApp

DISTRIBUTION = "AWS::CloudFront::Distribution"
BUCKET = "AWS::S3::Bucket"


class StaticSitesService:
    def __init__(self) -> None:
        self._servers: list[BackgroundServer] = []
        self.urls: dict[str, str] = {}  # distribution logical id -> its local URL

    def start(self, cloud: CloudContext) -> None:
        app = cloud.app
        buckets = {
            str(app.attributes.get(logical_id, {}).get(attribute)): str(app.physical_ids[logical_id])
            for logical_id, resource in app.resources.items()
            if resource.get("Type") == BUCKET
            for attribute in ("RegionalDomainName", "DomainName")
        }
        # Where a deployed object names an AWS endpoint of the stack, the local one (outputs as AWS would have them
        # vs. as this machine serves them).
        served = cloud.outputs
        rewrites = {
            aws: str(served[name])
            for name, aws in app.outputs.items()
            if isinstance(aws, str) and aws.startswith("https://") and str(served.get(name, aws)) != aws
        }
        for logical_id, resource in app.resources.items():
            if resource.get("Type") != DISTRIBUTION:
                continue
            config: dict[str, Any] = resource.get("Properties", {}).get("DistributionConfig", {})
            origins = [o for o in config.get("Origins", []) if str(o.get("DomainName")) in buckets]
            if not origins:
                continue  # an origin this machine does not have (an API, another host): nothing to serve
            bucket = buckets[str(origins[0]["DomainName"])]
            site = StaticSiteApp(
                cloud.client("s3"), bucket, str(config.get("DefaultRootObject") or "index.html"), rewrites
            )
            server = BackgroundServer(site, cloud.host, 0, name=f"localcloud-site-{logical_id}").start()
            self._servers.append(server)
            url = f"http://{cloud.host}:{server.port}"
            self.urls[logical_id] = url
            domain = str(app.attributes.get(logical_id, {}).get("DomainName", ""))
            for name, value in app.outputs.items():
                if isinstance(value, str) and domain and domain in value:
                    cloud.output_overrides[name] = value.replace(f"https://{domain}", url).replace(domain, url)
            rewrites[f"https://{domain}"] = url

    def stop(self) -> None:
        while self._servers:
            self._servers.pop().stop()
