"""The Content-Security-Policy, with the origin the stems are played from.

On STORAGE_BACKEND=s3 a stem's link answers with a redirect to a presigned URL
of the bucket, and the browser checks the redirect's target against media-src:
without the bucket's origin there the players would stay silent. The origin is
read from the settings on every response, so a change of bucket needs no
change of policy.
"""

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


def bucket_origins() -> list[str]:
    """Where a presigned link of the configured bucket may point: the
    endpoint itself (path-style addressing) and the bucket's own host name
    (virtual-hosted style, which AWS uses and botocore may choose)."""
    if settings.STORAGE_BACKEND != "s3":
        return []
    bucket = settings.AWS_STORAGE_BUCKET_NAME
    if settings.AWS_S3_ENDPOINT_URL:
        parts = urlsplit(settings.AWS_S3_ENDPOINT_URL)
        return [
            f"{parts.scheme}://{parts.netloc}",
            f"{parts.scheme}://{bucket}.{parts.netloc}",
        ]
    region = settings.AWS_S3_REGION_NAME
    return [
        f"https://{bucket}.s3.amazonaws.com",
        *([f"https://{bucket}.s3.{region}.amazonaws.com"] if region else []),
    ]


class StoreAwareCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with media-src widened to the bucket."""

    def get_policy_parts(
        self,
        request: HttpRequest,
        response: HttpResponseBase,
        report_only: bool = False,
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origins = bucket_origins()
        if origins:
            update = dict(parts.update or {})
            update["media-src"] = [*update.get("media-src", ()), *origins]
            parts.update = update
        return parts
