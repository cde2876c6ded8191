"""Where files live for good: under SHARED_ROOT, or in an S3-compatible bucket.

`STORAGE_BACKEND=filesystem` (the default) keeps every file in SHARED_ROOT, one
folder that every process mounts. `STORAGE_BACKEND=s3` keeps them in a bucket
(AWS S3, MinIO, Cloudflare R2, Ceph; through django-storages and boto3), and
SHARED_ROOT becomes each host's own scratch folder: no folder is shared.

A file is named by its key, its path relative to SHARED_ROOT in the layout of
jobs/storage.py (`uploads/<job>/input.wav`, `outputs/<job>/<stem>.<ext>`, ...),
so a Stem's `relative_path` names its file on either backend. Work happens on
local files under SHARED_ROOT: a file made there is handed to `keep`, and one
to read is borrowed with `local_copy`. Downloads go through `download_url`: a
short-lived presigned URL on s3, None on the filesystem (Django or nginx sends
the file itself).
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

logger = logging.getLogger(__name__)

BACKENDS = ("filesystem", "s3")
DELETE_BATCH = 1000  # the most keys one DeleteObjects request takes
CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "zip": "application/zip",
}


def content_type_for(name: str) -> str:
    """What a file is, by its name's extension (what we store and serve)."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return CONTENT_TYPES.get(extension) or (
        mimetypes.guess_type(name)[0] or "application/octet-stream"
    )


class StoredFileMissing(Exception):
    """The store has no file under this key."""


@dataclass(frozen=True)
class Entry:
    """One child of a folder (`uploads/<job>`), and when it last changed."""

    name: str
    modified: float  # seconds since the epoch


class FileStore(Protocol):
    def keep(
        self, key: str, local: Path, *, content_type: str = "", retain: bool = False
    ) -> None:
        """Store the local file `local` under `key`; `local` is gone afterwards,
        unless `retain` (then the caller removes it)."""

    def local_copy(self, key: str) -> contextlib.AbstractContextManager[Path]:
        """A local file with the stored content, for as long as the block runs.
        Raises StoredFileMissing."""

    def fetch(self, key: str, dest: Path) -> None:
        """Make `dest` a local copy of the stored file. Raises StoredFileMissing."""

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def remove(self, prefix: str) -> int:
        """Delete the file `prefix`, or every file under the folder `prefix/`."""

    def entries(self, folder: str) -> list[Entry]: ...

    def download_url(
        self, key: str, *, filename: str, content_type: str, as_attachment: bool
    ) -> str | None:
        """A URL the browser may fetch the file from directly, or None."""


def store() -> FileStore:
    """The store the settings choose (one per configuration, per process)."""
    if settings.STORAGE_BACKEND == "s3":
        return _s3_store(
            settings.AWS_STORAGE_BUCKET_NAME,
            settings.AWS_S3_ENDPOINT_URL,
            settings.AWS_S3_REGION_NAME,
            settings.AWS_QUERYSTRING_EXPIRE,
        )
    return FilesystemStore(Path(settings.SHARED_ROOT))


def store_warm() -> None:
    """Build the store's client before a process forks its workers. On s3 that
    is boto3's session and its S3 model (about a second of CPU, which every
    RQ work horse would otherwise pay again at its first stored file, and a
    freed slot would wait for). No request is made, so no connection is
    shared across the fork."""
    files = store()
    if isinstance(files, S3Store):
        files.client_build()


def is_shared_folder() -> bool:
    """True when SHARED_ROOT itself holds the stored files (filesystem backend)."""
    return settings.STORAGE_BACKEND != "s3"


# --- Filesystem ------------------------------------------------------------------


class FilesystemStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / key

    def keep(
        self, key: str, local: Path, *, content_type: str = "", retain: bool = False
    ) -> None:
        target = self.path(key)
        if local.resolve() == target.resolve():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        if retain:
            partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
            shutil.copyfile(local, partial)
            os.replace(partial, target)
        else:
            os.replace(local, target)

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        path = self.path(key)
        if not path.is_file():
            raise StoredFileMissing(key)
        yield path

    def fetch(self, key: str, dest: Path) -> None:
        source = self.path(key)
        if not source.is_file():
            raise StoredFileMissing(key)
        if source.resolve() != dest.resolve():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError as missing:
            raise StoredFileMissing(key) from missing

    def remove(self, prefix: str) -> int:
        path = self.path(prefix.rstrip("/"))
        if path.is_dir() and not path.is_symlink():
            count = sum(1 for entry in path.rglob("*") if entry.is_file())
            shutil.rmtree(path, ignore_errors=True)
            return count
        try:
            path.unlink()
        except FileNotFoundError:
            return 0
        return 1

    def entries(self, folder: str) -> list[Entry]:
        found = []
        try:
            children = list(self.path(folder).iterdir())
        except FileNotFoundError:
            return []
        for child in children:
            try:
                found.append(Entry(child.name, child.lstat().st_mtime))
            except FileNotFoundError:
                continue
        return found

    def download_url(
        self, key: str, *, filename: str, content_type: str, as_attachment: bool
    ) -> str | None:
        return None


# --- S3 --------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _s3_store(
    bucket: str, endpoint_url: str, region: str, presign_seconds: int
) -> S3Store:
    return S3Store(
        bucket=bucket,
        endpoint_url=endpoint_url,
        region=region,
        presign_seconds=presign_seconds,
    )


class S3Store:
    """A bucket through django-storages' S3Storage (its settings, its boto3
    session and its transfer configuration: multipart above 8 MB, streamed
    from and to files, never whole in memory)."""

    def __init__(
        self, *, bucket: str, endpoint_url: str, region: str, presign_seconds: int
    ) -> None:
        from storages.backends.s3 import S3Storage

        self.bucket_name = bucket
        self.presign_seconds = presign_seconds
        self._storage = S3Storage(
            bucket_name=bucket,
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            location="",
            default_acl=None,
            file_overwrite=True,
            querystring_auth=True,
            querystring_expire=presign_seconds,
            # SigV4: the only signature R2 and the newer AWS regions accept.
            signature_version="s3v4",
        )

    def client_build(self) -> None:
        """django-storages builds its boto3 resource on first use, per thread."""
        self._storage.bucket  # noqa: B018 - the property builds the resource

    @property
    def _client(self) -> Any:
        return self._storage.connection.meta.client

    @property
    def _bucket(self) -> Any:
        return self._storage.bucket

    def keep(
        self, key: str, local: Path, *, content_type: str = "", retain: bool = False
    ) -> None:
        extra = {"ContentType": content_type} if content_type else {}
        self._bucket.upload_file(
            str(local), key, ExtraArgs=extra, Config=self._storage.transfer_config
        )
        if not retain:
            local.unlink(missing_ok=True)

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        scratch = Path(settings.SHARED_ROOT) / "tmp" / f"copy-{uuid.uuid4().hex}"
        dest = scratch / Path(key).name
        try:
            self.fetch(key, dest)
            yield dest
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def fetch(self, key: str, dest: Path) -> None:
        from botocore.exceptions import ClientError

        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        try:
            self._bucket.download_file(
                key, str(partial), Config=self._storage.transfer_config
            )
            os.replace(partial, dest)
        except ClientError as error:
            if _not_found(error):
                raise StoredFileMissing(key) from error
            raise
        finally:
            partial.unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.head_object(Bucket=self.bucket_name, Key=key)
        except ClientError as error:
            if _not_found(error):
                return False
            raise
        return True

    def size(self, key: str) -> int:
        from botocore.exceptions import ClientError

        try:
            head = self._client.head_object(Bucket=self.bucket_name, Key=key)
        except ClientError as error:
            if _not_found(error):
                raise StoredFileMissing(key) from error
            raise
        return int(head["ContentLength"])

    def remove(self, prefix: str) -> int:
        exact = prefix.rstrip("/")
        # One listing finds the file and the folder's contents alike.
        keys = [
            item["Key"]
            for item in self._list(exact)
            if item["Key"] == exact or item["Key"].startswith(exact + "/")
        ]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            self._client.delete_objects(
                Bucket=self.bucket_name,
                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
            )
        return len(keys)

    def entries(self, folder: str) -> list[Entry]:
        """Each child of `folder`, dated by its newest object."""
        newest: dict[str, float] = {}
        base = folder.rstrip("/") + "/"
        for item in self._list(base):
            name = item["Key"][len(base) :].split("/", 1)[0]
            modified = item["LastModified"].timestamp()
            newest[name] = max(modified, newest.get(name, 0.0))
        return [Entry(name, modified) for name, modified in newest.items()]

    def _list(self, prefix: str) -> Iterator[dict[str, Any]]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket_name, Prefix=prefix
        )
        for page in pages:
            yield from page.get("Contents", [])

    def download_url(
        self, key: str, *, filename: str, content_type: str, as_attachment: bool
    ) -> str | None:
        from django.utils.http import content_disposition_header

        parameters = {"ResponseContentType": content_type}
        disposition = content_disposition_header(as_attachment, filename)
        if disposition:
            parameters["ResponseContentDisposition"] = disposition
        return str(
            self._storage.url(key, parameters=parameters, expire=self.presign_seconds)
        )


def _not_found(error: Exception) -> bool:
    code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}
