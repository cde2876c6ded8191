"""Downloading a job's zip or one stem: streamed to disk, resumable.

The bytes go to a `.part` file beside the destination; when one is already
there (an earlier download was interrupted), the download asks for the rest
with `Range: bytes=<size>-` and appends it. A job's files never change once
it has succeeded, so the part on disk is always a prefix of the same file.
The part is renamed to its final name only once complete.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable
from urllib.parse import unquote

import httpx

from ._http import Transport, describe
from .errors import ApiError, ConnectionFailed

#: Called with (bytes on disk, total bytes or None) as a download goes.
ProgressCallback = Callable[[int, "int | None"], object]
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_FILENAME_STAR = re.compile(r"filename\*\s*=\s*([\w-]+)''([^;]+)", re.IGNORECASE)
_FILENAME = re.compile(
    r'filename\s*=\s*"([^"]*)"|filename\s*=\s*([^;]+)', re.IGNORECASE
)


def download(
    transport: Transport,
    job_id: str,
    dest: Path,
    *,
    stem: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> Path:
    """Download into `dest` (a folder, or the file to write); return the file."""
    url = f"/api/v1/jobs/{job_id}/download/"
    if stem is not None:
        url = f"/api/v1/jobs/{job_id}/stems/{stem}/"
    into_folder = dest.is_dir()
    what = stem or "stems"
    part = (
        dest / f".{job_id}-{what}.part"
        if into_folder
        else dest.with_name(f"{dest.name}.part")
    )
    attempt = 0
    while True:
        attempt += 1
        try:
            name, complete = _fetch(transport, url, part, on_progress)
        except httpx.TransportError as error:  # the connection broke mid-file
            if attempt >= transport.policy.attempts:
                raise ConnectionFailed(
                    f"GET {url}: {describe(error)} (after {attempt} attempts)"
                ) from error
            transport.sleep(transport.policy.backoff_for(attempt))
            continue
        if not complete:
            if attempt >= transport.policy.attempts:
                raise ConnectionFailed(f"GET {url}: the file kept arriving cut short")
            continue
        final = dest / (name or f"{job_id}-{what}") if into_folder else dest
        part.replace(final)
        return final


def _fetch(
    transport: Transport,
    url: str,
    part: Path,
    on_progress: ProgressCallback | None,
) -> tuple[str | None, bool]:
    """One request for what `part` lacks; (the server's file name, complete)."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with transport.stream(
            "GET", url, headers=headers, follow_redirects=True
        ) as response:
            total = _total(response)
            if response.status_code == 206:
                if _range_start(response) != offset:
                    part.unlink()
                    return None, False
                mode = "ab"
            else:  # the whole file
                offset, mode = 0, "wb"
            with part.open(mode) as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    offset += len(chunk)
                    if on_progress is not None:
                        on_progress(offset, total)
            return filename(response.headers), total is None or offset == total
    except ApiError as error:
        if error.status != 416:
            raise
        # The part is not a prefix of the file (or is all of it, renamed
        # never): start again.
        part.unlink(missing_ok=True)
        return None, False


def _total(response: httpx.Response) -> int | None:
    if response.status_code == 206:
        found = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        if found and found.group(3) != "*":
            return int(found.group(3))
        return None
    length = response.headers.get("content-length")
    return int(length) if length and length.isdigit() else None


def _range_start(response: httpx.Response) -> int | None:
    found = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
    return int(found.group(1)) if found else None


def filename(headers: httpx.Headers) -> str | None:
    """The file name of a Content-Disposition (RFC 6266: filename* first),
    reduced to a plain name (no folders)."""
    disposition = headers.get("content-disposition", "")
    found = _FILENAME_STAR.search(disposition)
    if found:
        try:
            name = unquote(found.group(2).strip(), encoding=found.group(1))
        except LookupError:  # a charset Python does not know
            name = unquote(found.group(2).strip())
    else:
        plain = _FILENAME.search(disposition)
        if not plain:
            return None
        name = (plain.group(1) or plain.group(2) or "").strip()
    name = Path(name.replace("\\", "/")).name.strip()
    return name if name not in ("", ".", "..") else None
