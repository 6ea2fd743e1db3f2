"""One distribution as a WSGI app: GET and HEAD of its origin bucket's objects from the local S3.

`/` is the distribution's `DefaultRootObject`; a missing key is 404 (403 is what a private bucket behind CloudFront
answers; 404 says more locally); other methods are 405. Objects keep their stored Content-Type. JSON objects have
the stack's AWS endpoint URLs replaced by the local ones (`rewrites`, longest first), see the package docstring.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError


class StaticSiteApp:
    def __init__(self, s3: Any, bucket: str, root_object: str, rewrites: Mapping[str, str]) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._root_object = root_object
        self._rewrites = sorted(rewrites.items(), key=lambda pair: len(pair[0]), reverse=True)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return _plain(start_response, "405 Method Not Allowed", b"only GET and HEAD", [("Allow", "GET, HEAD")])
        path = unquote(str(environ.get("PATH_INFO") or "/"))
        key = path.lstrip("/") or self._root_object
        try:
            stored = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
                return _plain(start_response, "404 Not Found", f"no object {key}".encode())
            raise
        body: bytes = stored["Body"].read()
        content_type = str(stored.get("ContentType") or "application/octet-stream")
        if content_type.startswith("application/json"):
            body = self._rewrite(body)
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")]
        start_response("200 OK", headers)
        return [] if method == "HEAD" else [body]

    def _rewrite(self, body: bytes) -> bytes:
        text = body.decode("utf-8")
        for aws_url, local_url in self._rewrites:
            text = text.replace(aws_url, local_url)
        return text.encode("utf-8")


def _plain(
    start_response: Callable[..., Any], status: str, body: bytes, extra: list[tuple[str, str]] | None = None
) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), *(extra or [])])
    return [body]
