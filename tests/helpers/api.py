"""API helpers: clients with real tokens, uploads, a posting shortcut."""

import io
from typing import Any

from rest_framework.test import APIClient

from accounts.services import api_token_create

JOBS = "/api/v1/jobs/"


def token_client(user: Any) -> APIClient:
    """A client that authenticates like a script: `Authorization: Token <key>`."""
    _, secret = api_token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def upload(content: bytes, name: str = "Song.wav") -> io.BytesIO:
    part = io.BytesIO(content)
    part.name = name
    return part


def post_jobs(client: APIClient, *files: io.BytesIO, **fields: Any) -> Any:
    """POST /api/v1/jobs/ as multipart; `headers` go through as HTTP headers."""
    headers = fields.pop("headers", {})
    data = {"model": "htdemucs", "output_format": "mp3", **fields}
    if files:
        data["file"] = list(files)
    return client.post(JOBS, data, format="multipart", headers=headers)
