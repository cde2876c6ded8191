"""rich progress bars for `mux`: one per song plus an overall one, and one for
a single download."""

from collections.abc import Sequence
from typing import Any, Optional

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TransferSpeedColumn,
)

from .split import FINAL, Song, View

LABELS = {
    "waiting": "waiting for a job slot",
    "uploading": "uploading",
    "queued": "queued",
    "running": "separating",
    "downloading": "downloading",
    "done": "done",
    "failed": "failed",
    "cancelled": "cancelled",
    "rejected": "refused",
    "skipped": "not uploaded",
    "not_uploaded": "not uploaded",
}


def describe(song: Song) -> str:
    label = LABELS.get(song.state, song.state)
    job = song.job
    if song.state == "queued" and job is not None and job.queue_position:
        return f"{label} (#{job.queue_position} in line)"
    if song.state == "running" and job is not None:
        return f"{label} ({job.stage})"
    if song.state == "downloading" and song.download_total:
        return f"{label} {100 * song.downloaded // song.download_total}%"
    if song.state in ("failed", "rejected", "skipped") and song.error:
        return f"{label}: {song.error}"
    return label


class ProgressView(View):
    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[state]}"),
            console=console,
        )
        self.tasks: dict[int, TaskID] = {}
        self.overall: Optional[TaskID] = None
        self.songs: Sequence[Song] = ()

    def start(self, songs: Sequence[Song]) -> None:
        self.songs = songs
        for song in songs:
            self.tasks[id(song)] = self.progress.add_task(
                song.path.name, total=100, state=describe(song)
            )
        self.overall = self.progress.add_task(
            "[bold]all songs[/bold]", total=len(songs), state=""
        )
        self.progress.start()

    def update(self, song: Song) -> None:
        job = song.job
        completed = job.progress if job is not None else 0
        if song.state in ("downloading", "done"):
            completed = 100
        self.progress.update(
            self.tasks[id(song)], completed=completed, state=describe(song)
        )
        if self.overall is not None:
            ended = sum(1 for s in self.songs if s.state in FINAL)
            self.progress.update(
                self.overall, completed=ended, state=f"{ended} of {len(self.songs)}"
            )

    def note(self, text: str) -> None:
        self.progress.console.print(text, highlight=False)

    def stop(self) -> None:
        self.progress.stop()


class DownloadBar:
    """An on_progress callback drawing one download's bar (nothing if quiet)."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.progress = Progress(
            TextColumn("downloading"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=console,
            disable=quiet,
            transient=True,
        )
        self.task = self.progress.add_task("download", total=None)

    def __enter__(self) -> "DownloadBar":
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def __call__(self, done: int, total: Optional[int]) -> None:
        self.progress.update(self.task, completed=done, total=total)
