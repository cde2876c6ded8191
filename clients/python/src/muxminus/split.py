"""`mux split`: many songs through the job-slot cap, each into its own folder.

One loop, one thread: upload while a slot is free (the cap is the account's
`max_active_jobs`; a 429 `too_many_active_jobs` means the slots are busy, so
the song waits until one of ours ends, or for Retry-After when none of ours
runs), poll the running jobs every poll_interval, and download and unpack each
one that succeeded. Ctrl-C deletes (cancels, refunded) the jobs this run
started that have not finished; an upload under way finishes first, so that
its job is known and cancelled too (a second Ctrl-C does not wait).
"""

from __future__ import annotations

import shutil
import signal
import threading
import time
import zipfile
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Callable

from ._schema_models import Job
from .client import Client
from .errors import (
    BAD_FILE_ERRORS,
    ApiError,
    ConnectionFailed,
    MuxMinusError,
    NotFound,
    TooManyActiveJobs,
)

#: The longest wait for a slot when none of this run's jobs holds one.
MAX_SLOT_WAIT = 30.0
#: Song states that are final.
FINAL = frozenset(
    {"done", "failed", "cancelled", "rejected", "skipped", "not_uploaded"}
)


@dataclass
class Song:
    path: Path
    folder: Path
    state: str = "waiting"  # waiting, uploading, queued, running, downloading, FINAL
    job: Job | None = None
    code: str | None = None
    error: str | None = None
    files: list[str] = field(default_factory=list)
    downloaded: int = 0  # bytes of the zip so far, while downloading
    download_total: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "song": str(self.path),
            "status": self.state,
            "job": self.job.id if self.job else None,
            "folder": str(self.folder) if self.state == "done" else None,
            "files": self.files,
            "error": (
                {"code": self.code, "detail": self.error}
                if self.error or self.code
                else None
            ),
        }


class View:
    """What a person sees of the run; this one shows nothing (--json)."""

    def start(self, songs: Sequence[Song]) -> None: ...

    def update(self, song: Song) -> None: ...

    def note(self, text: str) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Outcome:
    songs: list[Song]
    interrupted: bool = False
    unreachable: ConnectionFailed | None = None
    #: Why songs were not uploaded, when the server refused them all.
    stopped_by: ApiError | None = None
    cancelled: list[Song] = field(default_factory=list)
    #: Jobs of this run still on the server though not downloaded.
    left: list[Song] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "songs": [song.to_dict() for song in self.songs],
            "interrupted": self.interrupted,
            "cancelled": [s.job.id for s in self.cancelled if s.job],
            "left": [s.job.id for s in self.left if s.job],
            "not_uploaded": [
                str(s.path) for s in self.songs if s.state == "not_uploaded"
            ],
            "error": str(self.unreachable) if self.unreachable else None,
        }


class Interrupts:
    """SIGINT raises KeyboardInterrupt, except inside critical(): there the
    first one waits for the block to end (a second one does not)."""

    def __init__(self, note: Callable[[str], None]) -> None:
        self.note = note
        self.depth = 0
        self.pending = False
        self.previous: Any = None

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.depth and not self.pending:
            self.pending = True
            self.note("Stopping once this upload is answered (Ctrl-C again: now).")
            return
        raise KeyboardInterrupt

    @contextmanager
    def critical(self) -> Iterator[None]:
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            if self.pending and not self.depth:
                self.pending = False
                raise KeyboardInterrupt

    @contextmanager
    def ignored(self) -> Iterator[None]:
        """While cancelling: Ctrl-C says so instead of leaving jobs behind."""
        handler = signal.getsignal(signal.SIGINT)
        main = threading.current_thread() is threading.main_thread()
        if main:
            signal.signal(signal.SIGINT, lambda s, f: self.note("Still cancelling..."))
        try:
            yield
        finally:
            if main:
                signal.signal(signal.SIGINT, handler)


class Split:
    def __init__(
        self,
        client: Client,
        paths: Sequence[Path],
        *,
        out: Path,
        model: str,
        two_stems: str | None = None,
        output_format: str | None = None,
        view: View | None = None,
        poll_interval: float = 1.5,
    ) -> None:
        self.client = client
        self.songs = [
            Song(path, folder) for path, folder in zip(paths, _folders(paths, out))
        ]
        self.out = out
        self.model, self.two_stems, self.output_format = model, two_stems, output_format
        self.view = view or View()
        self.poll_interval = poll_interval
        self.pending: deque[Song] = deque(self.songs)
        self.active: dict[str, Song] = {}
        self.slot_wait_until: float | None = None
        self.outcome = Outcome(self.songs)

    def run(self) -> Outcome:
        self.out.mkdir(parents=True, exist_ok=True)
        self.view.start(self.songs)
        interrupts = Interrupts(self.view.note)
        try:
            with interrupts:
                slots = self.client.me().max_active_jobs
                try:
                    while self.pending or self.active:
                        self._upload(slots, interrupts)
                        self._poll()
                        if self.pending or self.active:
                            time.sleep(self.poll_interval)
                except KeyboardInterrupt:
                    self.outcome.interrupted = True
                    with interrupts.ignored():
                        self._cancel_started()
        except ConnectionFailed as error:
            self.outcome.unreachable = error
            self.outcome.left += list(self.active.values())
        finally:
            for song in self.songs:
                if song.state in ("waiting", "uploading"):
                    self._set(song, "not_uploaded")
            self.view.stop()
        return self.outcome

    # -- uploads ---------------------------------------------------------------

    def _upload(self, slots: int, interrupts: Interrupts) -> None:
        while self.pending and len(self.active) < slots:
            if self.slot_wait_until and time.monotonic() < self.slot_wait_until:
                return
            song = self.pending[0]
            self._set(song, "uploading")
            try:
                with interrupts.critical():
                    [job] = self.client.jobs.create(
                        [song.path],
                        model=self.model,
                        two_stems=self.two_stems,
                        output_format=self.output_format,
                        wait_for_slot=False,
                    )
                    self._started(song, job)  # before a deferred Ctrl-C strikes
            except TooManyActiveJobs as error:
                # Slots held by uploads from elsewhere: wait for one of ours to
                # end (that clears the wait), else for the server's estimate.
                wait = min(MAX_SLOT_WAIT, error.retry_after or 5.0)
                self.slot_wait_until = time.monotonic() + wait
                self._set(song, "waiting")
                return
            except BAD_FILE_ERRORS as error:
                self.pending.popleft()
                self._refuse(song, "rejected", error)
                continue
            except ApiError as error:  # no credits, a bad option: true of every song
                self.outcome.stopped_by = error
                while self.pending:
                    self._refuse(self.pending.popleft(), "skipped", error)
                return

    def _started(self, song: Song, job: Job) -> None:
        self.pending.popleft()
        song.job = job
        self.active[job.id] = song
        self._set(song, job.status)

    def _refuse(self, song: Song, state: str, error: ApiError) -> None:
        song.code, song.error = error.code, error.detail
        self._set(song, state)

    # -- following the jobs ----------------------------------------------------------

    def _poll(self) -> None:
        for job_id, song in list(self.active.items()):
            try:
                job = self.client.jobs.get(job_id)
            except NotFound:  # deleted elsewhere (the site, another mux)
                self._ended(song, "cancelled", error="The job was deleted.")
                continue
            song.job = job
            if job.status == "succeeded":
                self._ended(song, "downloading")
                try:
                    self._fetch(song)
                except ApiError as error:  # expired meanwhile, say: the rest go on
                    self._refuse(song, "failed", error)
            elif job.status in ("failed", "cancelled"):
                self._ended(song, job.status, error=job.error)
            else:
                self._set(song, job.status)

    def _ended(self, song: Song, state: str, error: str | None = None) -> None:
        assert song.job is not None  # noqa: S101 - active songs have jobs
        self.active.pop(song.job.id, None)
        self.slot_wait_until = None  # one of ours freed a slot
        if error is not None:
            song.error = error
        self._set(song, state)

    def _fetch(self, song: Song) -> None:
        assert song.job is not None  # noqa: S101 - only succeeded jobs come here

        def progress(done: int, total: int | None) -> None:
            song.downloaded, song.download_total = done, total
            self.view.update(song)

        self.outcome.left.append(song)  # until it is on disk
        archive = self.client.jobs.download(
            song.job, self.out / f".{song.job.id}.zip", on_progress=progress
        )
        song.files = _unpack(archive, song.folder)
        self.outcome.left.remove(song)
        self._set(song, "done")

    def _cancel_started(self) -> None:
        """Delete (cancel, refunded) every job of this run that has not ended."""
        for job_id, song in list(self.active.items()):
            try:
                job = self.client.jobs.get(job_id)
                if job.status == "succeeded":  # it just did: keep it
                    song.job = job
                    self.outcome.left.append(song)
                    continue
                self.client.jobs.delete(job_id)
            except NotFound:
                pass  # gone already
            except MuxMinusError as error:
                song.error = f"could not cancel: {error}"
                self.outcome.left.append(song)
                continue
            self.active.pop(job_id)
            self.outcome.cancelled.append(song)
            self._set(song, "cancelled")

    def _set(self, song: Song, state: str) -> None:
        song.state = state
        self.view.update(song)


def _folders(paths: Sequence[Path], out: Path) -> list[Path]:
    """out/<song name>/, numbered when two songs share a name."""
    taken: set[str] = set()
    folders = []
    for path in paths:
        name, number = path.stem or path.name, 1
        while name.lower() in taken:
            number += 1
            name = f"{path.stem} ({number})"
        taken.add(name.lower())
        folders.append(out / name)
    return folders


def _unpack(archive: Path, folder: Path) -> list[str]:
    """The zip's files into `folder` (flat: no entry may write elsewhere)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(archive) as stems:
        for entry in stems.infolist():
            name = Path(entry.filename.replace("\\", "/")).name
            if entry.is_dir() or name in ("", ".", ".."):
                continue
            with stems.open(entry) as source, (folder / name).open("wb") as target:
                shutil.copyfileobj(source, target)
            names.append(name)
    archive.unlink()
    return sorted(names)
