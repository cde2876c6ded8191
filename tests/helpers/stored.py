"""What the product has stored, seen the same way on both backends.

A key is a path relative to SHARED_ROOT (jobs/storage.py), so every stored
file is named here by the path the filesystem backend keeps it at: on
STORAGE_BACKEND=s3 (MUXMINUS_TEST_STORAGE=s3) the bucket's objects are listed, read and
changed under those same names. A test written with these helpers checks the
product, not the backend it happens to run on.
"""

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings

from jobs import storage
from jobs.store import is_shared_folder, store


def _key(path: Path | str) -> str:
    return storage.relative(Path(path)) if Path(path).is_absolute() else str(path)


def bucket_keys() -> list[str]:
    """Every object of the configured bucket (s3 only)."""
    from devtools.s3_server import S3Server

    server = S3Server(settings.AWS_S3_ENDPOINT_URL)
    return server.keys(settings.AWS_STORAGE_BUCKET_NAME)


def shared_files() -> list[Path]:
    """Every file left behind: on the shared volume (the staging folder
    included) and, on s3, in the bucket (named by its filesystem path)."""
    root = Path(settings.SHARED_ROOT)
    files = {p for p in root.rglob("*") if p.is_file()}
    if not is_shared_folder():
        files.update(root / key for key in bucket_keys())
    return sorted(files)


def is_stored(path: Path | str) -> bool:
    return store().exists(_key(path))


@contextlib.contextmanager
def stored_copy(path: Path | str) -> Iterator[Path]:
    """A local file with what is stored at `path`, while the block runs."""
    with store().local_copy(_key(path)) as local:
        yield local


def stored_bytes(path: Path | str) -> bytes:
    with stored_copy(path) as local:
        return local.read_bytes()


def stored_remove(path: Path | str) -> None:
    """Lose a stored file, as a failing disk or an operator would."""
    assert store().remove(_key(path)) == 1, f"nothing stored at {path}"


def stored_replace(path: Path | str, content: bytes) -> None:
    """Overwrite a stored file with `content` (a corruption after upload)."""
    key = _key(path)
    assert store().exists(key), f"nothing stored at {key}"
    local = Path(settings.SHARED_ROOT) / "tmp" / f"replace-{Path(key).name}"
    local.write_bytes(content)
    store().keep(key, local)


@dataclass(frozen=True)
class Download:
    status_code: int
    headers: Mapping[str, str]
    content: bytes


def download(client: Any, url: str, **headers: str) -> Download:
    """GET `url` with Django's test client as a browser does: where the answer
    is a redirect to the store (s3's presigned URL), follow it there with the
    same Range header, over HTTP to the S3 server."""
    response = client.get(url, **headers)
    location = response.get("Location", "")
    if response.status_code == 302 and location.startswith(("http://", "https://")):
        forwarded = {"Range": headers["HTTP_RANGE"]} if "HTTP_RANGE" in headers else {}
        remote = httpx.get(location, headers=forwarded, timeout=30)
        return Download(remote.status_code, remote.headers, remote.content)
    body = (
        b"".join(response.streaming_content) if response.streaming else response.content
    )
    return Download(response.status_code, response.headers, body)
