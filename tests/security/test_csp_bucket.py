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
def test_on_an_s3_compatible_store_media_may_come_from_its_endpoint(settings) -> None:  # type: ignore[no-untyped-def]
    settings.STORAGE_BACKEND = "s3"
    settings.AWS_S3_ENDPOINT_URL = "https://storage.example.net:9000/"
    settings.AWS_STORAGE_BUCKET_NAME = "stems"
    assert media_sources(Client()) == [
        "'self'",
        "blob:",
        "https://storage.example.net:9000",
        "https://stems.storage.example.net:9000",
    ]


@pytest.mark.django_db
def test_on_aws_media_may_come_from_the_bucket_alone(settings) -> None:  # type: ignore[no-untyped-def]
    settings.STORAGE_BACKEND = "s3"
    settings.AWS_S3_ENDPOINT_URL = ""
    settings.AWS_STORAGE_BUCKET_NAME = "stems"
    settings.AWS_S3_REGION_NAME = "eu-west-1"
    assert media_sources(Client()) == [
        "'self'",
        "blob:",
        "https://stems.s3.amazonaws.com",
        "https://stems.s3.eu-west-1.amazonaws.com",
    ]
