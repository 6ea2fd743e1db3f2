"""Static sites: each `AWS::CloudFront::Distribution` of the stack whose origin is an S3 bucket of the stack,
served from the local S3 on a port of its own, as CloudFront would serve it.

- Provisioning creates nothing for CloudFront: a distribution gets an identity shaped like AWS's
  (`d<id>.cloudfront.net`, localcloud.template.identity), and bucket policies are not enforced (like IAM).
- `component.StaticSitesService` (a consumer: it needs the provisioned stack): one server per distribution;
  every output naming `https://<its domain>` names `http://127.0.0.1:<its port>` instead.
- `site.StaticSiteApp`: GET/HEAD of the origin bucket's objects (`DefaultRootObject` for `/`). A browser here
  cannot reach the AWS endpoint URLs a deployed object may name (the stack's API, Cognito), so JSON objects
  are served with each stack output URL replaced by the URL this machine serves it at, as DNS would have.
"""

from localcloud.static_sites.component import StaticSitesService

__all__ = ["StaticSitesService"]
