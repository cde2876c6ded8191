"""media-src names the bucket a stem's presigned link points at, and only on s3."""

import pytest
from django.test import Client


def media_sources(client: Client) -> list[str]:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        if name == "media-src":
            return sources
    raise AssertionError("no media-src in the policy")


@pytest.mark.django_db
def test_on_the_filesystem_media_comes_from_the_site_alone(settings) -> None:  # type: ignore[no-untyped-def]
    settings.STORAGE_BACKEND = "filesystem"
    assert media_sources(Client()) == ["'self'", "blob:"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("endpoint", "region", "bucket_origins"),
    [
        (  # any S3-compatible store: its endpoint, path- or virtual-hosted style
            "https://storage.example.net:9000/",
            "",
            [
                "https://storage.example.net:9000",
                "https://stems.storage.example.net:9000",
            ],
        ),
        (  # AWS itself: the bucket's own host names alone
            "",
            "eu-west-1",
            [
                "https://stems.s3.amazonaws.com",
                "https://stems.s3.eu-west-1.amazonaws.com",
            ],
        ),
    ],
    ids=["s3-compatible", "aws"],
)
def test_on_s3_media_may_come_from_the_bucket(  # type: ignore[no-untyped-def]
    settings, endpoint, region, bucket_origins
) -> None:
    settings.STORAGE_BACKEND = "s3"
    settings.AWS_STORAGE_BUCKET_NAME = "stems"
    settings.AWS_S3_ENDPOINT_URL = endpoint
    settings.AWS_S3_REGION_NAME = region
    assert media_sources(Client()) == ["'self'", "blob:", *bucket_origins]
