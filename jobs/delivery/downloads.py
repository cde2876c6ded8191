"""Serving stems and zips, for the site and the API alike.

The caller has fetched the job through selectors.job_get_for_user (ownership);
the responders here decide everything else in one place: which stem, whether
it expired (410), whether its file is there (404), and the bytes. Refusals are
DomainErrors: the API renders them as JSON, the site as plain text.

On STORAGE_BACKEND=s3 the answer is a redirect to a presigned URL of the
bucket, valid for AWS_QUERYSTRING_EXPIRE seconds and naming the file, after
our ownership check: the bytes never pass through us. On the filesystem,
behind nginx (SENDFILE_ACCEL_PREFIX set), Django only answers with an
`X-Accel-Redirect` header and nginx sends the file; locally Django streams the
file itself, with Range support so the browser's audio player can seek.
"""

import contextlib
import re
import shutil
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header

from core.errors import DomainError
from jobs import catalog, messages, selectors, storage
from jobs.models import Job
from jobs.store import StoredFileMissing, content_type_for, store

CHUNK = 256 * 1024
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class StemsExpired(DomainError):
    code = "expired"
    status_code = 410


class StemsNotReady(DomainError):
    code = "not_ready"
    status_code = 404


class StemFileMissing(DomainError):
    code = "not_found"
    status_code = 404


def stem_response(
    request: HttpRequest, *, job: Job, name: str, as_attachment: bool = True
) -> HttpResponseBase:
    """One stem of the job, as `<song> - <stem>.<ext>`. Raises Http404 for a stem
    the job does not have, StemsExpired or StemFileMissing."""
    stem = selectors.stem_get(job=job, name=name)
    _ensure_not_expired(job)
    return stored_file_response(
        request,
        stem.relative_path,
        filename=stem_filename(job, stem.name, stem.extension),
        as_attachment=as_attachment,
    )


def zip_response(request: HttpRequest, *, job: Job) -> HttpResponseBase:
    """The zip of all the job's stems. Raises StemsNotReady before the job has
    succeeded, StemsExpired or StemFileMissing."""
    if job.status != Job.Status.SUCCEEDED:
        raise StemsNotReady(messages.NO_STEMS_YET)
    _ensure_not_expired(job)
    return stored_file_response(
        request,
        job_zip_key(job),
        filename=f"{job.title} - stems.zip",
        as_attachment=True,
    )


def _ensure_not_expired(job: Job) -> None:
    if job.expired:
        raise StemsExpired(messages.STEMS_EXPIRED)


def stored_file_response(
    request: HttpRequest,
    key: str,
    *,
    filename: str,
    as_attachment: bool,
) -> HttpResponseBase:
    """Answer with the stored file `key`: a redirect to a presigned URL on s3,
    the file itself on the filesystem. Raises StemFileMissing."""
    files = store()
    url = files.download_url(
        key,
        filename=filename,
        content_type=content_type_for(key),
        as_attachment=as_attachment,
    )
    if url is None:
        path = Path(settings.SHARED_ROOT) / key
        if not path.is_file():
            raise StemFileMissing(messages.STEM_MISSING)
        return file_response(
            request, path, filename=filename, as_attachment=as_attachment
        )
    if not files.exists(key):
        raise StemFileMissing(messages.STEM_MISSING)
    response = HttpResponseRedirect(url)
    # The link expires in minutes: never reuse this redirect from a cache.
    response["Cache-Control"] = "private, no-store"
    return response


def file_response(
    request: HttpRequest, path: Path, *, filename: str, as_attachment: bool
) -> HttpResponseBase:
    """Answer with the file at `path` (inside SHARED_ROOT), Range requests included."""
    content_type = content_type_for(path.name)
    disposition = content_disposition_header(as_attachment, filename)
    response: HttpResponseBase
    if settings.SENDFILE_ACCEL_PREFIX:
        response = HttpResponse(content_type=content_type)
        relative = path.relative_to(settings.SHARED_ROOT).as_posix()
        response["X-Accel-Redirect"] = quote(
            settings.SENDFILE_ACCEL_PREFIX.rstrip("/") + "/" + relative
        )
    else:
        response = _ranged_response(request, path, content_type)
    if disposition:
        response["Content-Disposition"] = disposition
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _ranged_response(
    request: HttpRequest, path: Path, content_type: str
) -> HttpResponseBase:
    try:
        size = path.stat().st_size
    except FileNotFoundError as missing:  # removed since the caller looked
        raise Http404(messages.STEM_MISSING) from missing
    start, end = 0, size - 1
    status = 200
    match = RANGE_RE.match(request.headers.get("Range", "").strip())
    if match and (match.group(1) or match.group(2)):
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last or size - 1), size - 1)
        else:  # a suffix range: the last N bytes
            start = max(0, size - int(last))
        if start > end or start >= size:
            refused = HttpResponse(status=416)
            refused["Content-Range"] = f"bytes */{size}"
            return refused
        status = 206
    response = StreamingHttpResponse(
        _read(path, start, end - start + 1), status=status, content_type=content_type
    )
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response


def _read(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        while length > 0:
            chunk = handle.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def stem_filename(job: Job, stem_name: str, extension: str) -> str:
    return f"{job.title} - {stem_name}.{extension}"


def job_zip_key(job: Job) -> str:
    """The zip of all of a job's stems, built once on first request and stored.

    Built in this host's scratch and then stored (on the filesystem, renamed
    into place), so concurrent requests never see half a zip; stored without
    compression (audio does not compress).
    """
    key = storage.relative(storage.zip_path(job))
    files = store()
    if files.exists(key):
        return key
    stems = sorted(
        job.stems.defer("peaks"), key=lambda stem: catalog.stem_sort_key(stem.name)
    )
    if not stems:
        raise StemFileMissing(messages.STEM_MISSING)
    scratch = storage.staging_dir() / f"zip-{uuid.uuid4().hex}"
    partial = scratch / storage.ZIP_NAME
    try:
        scratch.mkdir(parents=True)
        with contextlib.ExitStack() as copies:
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as zf:
                for stem in stems:
                    name = stem_filename(job, stem.name, stem.extension)
                    local = copies.enter_context(files.local_copy(stem.relative_path))
                    zf.write(local, arcname=name)
        files.keep(key, partial, content_type=content_type_for(key))
    except StoredFileMissing as missing:
        raise StemFileMissing(messages.STEM_MISSING) from missing
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return key
