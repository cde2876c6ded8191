"""The API client: `Client(token, base_url)` and its `jobs` and `webhooks`."""

from __future__ import annotations

import io
import mimetypes
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, Callable, Union, cast

import httpx

from ._http import RetryPolicy, Transport
from ._schema_models import Account, Job, JobPage, ModelOutput
from ._version import __version__
from .downloads import ProgressCallback, download
from .errors import ApiError, NotFound, NotSignedIn, WaitTimeout
from .webhooks import verify

DEFAULT_URL = "http://127.0.0.1:8000"
ENDED = frozenset({"succeeded", "failed", "cancelled"})
#: The shortest pause between two polls of Jobs.wait().
MIN_POLL_INTERVAL = 0.5

#: A song to upload: a path, or (file name, bytes or a binary file).
FileInput = Union[str, "os.PathLike[str]", tuple[str, Union[bytes, IO[bytes]]]]
JobRef = Union[Job, str]


def _job_id(job: JobRef) -> str:
    return job.id if isinstance(job, Job) else str(job)


def _base_url(url: str) -> str:
    """The site's root, whether given with /api/v1 or not."""
    url = url.strip().rstrip("/")
    if url.endswith("/api/v1"):
        url = url[: -len("/api/v1")]
    return url


class Client:
    """The Mux Minus API.

    `token` and `base_url` default to MUXMINUS_TOKEN and MUXMINUS_URL (and the
    URL to http://127.0.0.1:8000). Every call retries as RetryPolicy says;
    errors are muxminus.errors classes. Use it as a context manager, or close().
    """

    def __init__(
        self,
        token: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        token = token or os.environ.get("MUXMINUS_TOKEN")
        if not token:
            raise NotSignedIn(
                "No API token: pass one, set MUXMINUS_TOKEN, or run `mux login`."
            )
        self.base_url = _base_url(
            base_url or os.environ.get("MUXMINUS_URL") or DEFAULT_URL
        )
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Token {token}",
                "Accept": "application/json",
                "User-Agent": f"muxminus-python/{__version__}",
            },
            timeout=httpx.Timeout(timeout, connect=10.0),
            transport=transport,
        )
        self.transport = Transport(self._http, self.retry, sleep=sleep)
        self.jobs = Jobs(self)
        self.webhooks = Webhooks()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call's JSON answer (retried as the policy says)."""
        return _json(self.transport.request(method, path, **kwargs), self.base_url)

    def me(self) -> Account:
        """Your account: credits and job slots."""
        return Account.from_dict(self.json("GET", "/api/v1/me/"))

    def models(self) -> list[ModelOutput]:
        """The models this server offers, and whether it can run each now."""
        return [ModelOutput.from_dict(m) for m in self.json("GET", "/api/v1/models/")]


class Jobs:
    """Create, follow, download and delete separation jobs."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self,
        files: FileInput | Sequence[FileInput],
        *,
        model: str,
        two_stems: str | None = None,
        output_format: str | None = None,
        webhook_url: str | None = None,
        idempotency_key: str | None = None,
        wait_for_slot: bool = True,
    ) -> list[Job]:
        """One job per file, all or nothing (raises NoCredits, InvalidAudio...).

        One Idempotency-Key (a new UUID unless given) goes with every attempt,
        so a retry after a lost answer gets the same jobs and is not charged.
        With `wait_for_slot` false, a 429 `too_many_active_jobs` raises
        TooManyActiveJobs at once instead of being waited out.
        """
        songs = _as_list(files)
        form = {
            "model": model,
            "two_stems": two_stems,
            "output_format": output_format,
            "webhook_url": webhook_url,
        }
        data = {key: value for key, value in form.items() if value is not None}

        def parts(stack: ExitStack) -> Mapping[str, Any]:
            return {
                "data": data,
                "files": [("file", _open_upload(song, stack)) for song in songs],
            }

        answer = self._client.transport.request(
            "POST",
            "/api/v1/jobs/",
            parts=parts,
            headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
            # Decoding the songs is part of the answer: give it time.
            timeout=httpx.Timeout(300.0, connect=10.0),
            wait_for_slot=wait_for_slot,
        )
        return [Job.from_dict(job) for job in _json(answer, self._client.base_url)]

    def get(self, job: JobRef) -> Job:
        return Job.from_dict(self._client.json("GET", f"/api/v1/jobs/{_job_id(job)}/"))

    def list(self, *, page_size: int = 100) -> Iterator[Job]:
        """Every job of yours, newest first, page after page."""
        seen: set[str] = set()
        page = 1
        while True:
            try:
                answer = self._client.json(
                    "GET",
                    "/api/v1/jobs/",
                    params={"page": page, "page_size": page_size},
                )
            except NotFound:
                if page == 1:
                    raise
                return  # the list shrank while we read it
            found = JobPage.from_dict(answer)
            for job in found.results:
                if job.id not in seen:  # jobs created meanwhile shift the pages
                    seen.add(job.id)
                    yield job
            if not found.next:
                return
            page += 1

    def delete(self, job: JobRef) -> None:
        """Cancel the job if it is queued or running (its credit comes back),
        and delete it with its files."""
        self._client.transport.request(
            "DELETE", f"/api/v1/jobs/{_job_id(job)}/", ok_on_retry=frozenset({404})
        )

    def wait(
        self,
        job: JobRef,
        *,
        on_progress: Callable[[Job], object] | None = None,
        timeout: float | None = None,
        poll_interval: float = 1.5,
    ) -> Job:
        """Poll until the job has succeeded, failed or been cancelled; return it.

        `on_progress(job)` is called after every poll. Raises WaitTimeout after
        `timeout` seconds (None: no limit).
        """
        interval = max(MIN_POLL_INTERVAL, poll_interval)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            current = self.get(job)
            if on_progress is not None:
                on_progress(current)
            if current.status in ENDED:
                return current
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise WaitTimeout(
                    f"job {current.id} is still {current.status} after {timeout}s",
                    job=current,
                )
            self._client._sleep(interval if left is None else min(interval, left))

    def download(
        self,
        job: JobRef,
        dest: str | os.PathLike[str],
        *,
        stem: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Path:
        """The zip of every stem (or one `stem`) into `dest`, a folder (named as
        the server names it) or a file path. Streamed to disk; a partial file
        left by an interrupted download is resumed with a Range request."""
        return download(
            self._client.transport,
            _job_id(job),
            Path(dest),
            stem=stem,
            on_progress=on_progress,
        )


class Webhooks:
    """Checking the webhooks the server sends (the Standard Webhooks scheme)."""

    @staticmethod
    def verify(
        headers: Mapping[str, str], body: bytes | str, secret: str, **options: Any
    ) -> Any:
        """See muxminus.webhooks.verify."""
        return verify(headers, body, secret, **options)


def _json(response: httpx.Response, base_url: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ApiError(
            response.status_code,
            "not_json",
            f"{response.request.url} did not answer with JSON: is {base_url} "
            "a Mux Minus server?",
            headers=response.headers,
        ) from None


def _as_list(files: FileInput | Sequence[FileInput]) -> list[FileInput]:
    if isinstance(files, (str, os.PathLike)):
        return [files]
    if (
        isinstance(files, tuple)
        and len(files) == 2
        and isinstance(files[0], str)
        and (isinstance(files[1], bytes) or hasattr(files[1], "read"))
    ):
        return [cast(FileInput, files)]  # one (name, content) pair
    return list(cast(Sequence[FileInput], files))


def _open_upload(song: FileInput, stack: ExitStack) -> tuple[str, IO[bytes], str]:
    """(file name, content from its first byte, content type) for httpx."""
    if isinstance(song, tuple):
        name, content = song
        if isinstance(content, bytes):
            stream: IO[bytes] = io.BytesIO(content)
        else:
            content.seek(0)
            stream = content
    else:
        path = Path(song)
        name = path.name
        stream = stack.enter_context(path.open("rb"))
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return name, stream, kind
