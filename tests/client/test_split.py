"""`mux split`'s scheduling (muxminus.split) against a scripted API on 127.0.0.1
that keeps the job-slot cap as the product does: 429 `too_many_active_jobs`
once every slot is taken, whoever took them."""

import io
import os
import re
import signal
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from muxminus import Client, RetryPolicy
from muxminus.cli import split_exit_code
from muxminus.split import Split

from tests.client.payloads import ACCOUNT, job_json
from tests.client.server import Reply, Request, error, scripted_server


def zip_of(title: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{title} - vocals.wav", b"v" * 100)
        archive.writestr(f"{title} - no_vocals.wav", b"n" * 100)
        archive.writestr("../escape.wav", b"x")  # must land inside the folder
    return buffer.getvalue()


@dataclass
class Api:
    slots: int = 2
    #: Slots held by uploads from elsewhere (the site, another script).
    elsewhere: int = 0
    polls_to_finish: int = 2
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: dict[str, int] = field(default_factory=dict)
    busiest: int = 0
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def active(self) -> int:
        mine = sum(1 for job in self.jobs.values() if job["status"] == "queued")
        return mine + self.elsewhere

    def __call__(self, request: Request) -> Reply:
        with self.lock:
            return self.answer(request)

    def answer(self, request: Request) -> Reply:
        if request.path == "/api/v1/me/":
            return Reply(200, {**ACCOUNT, "max_active_jobs": self.slots})
        if request.method == "POST":
            if self.active() >= self.slots:
                self.refused += 1
                if self.refused == 1:
                    self.elsewhere = 0  # the other upload ends meanwhile
                return error(429, "too_many_active_jobs", **{"Retry-After": "1"})
            found = re.search(rb'filename="([^"]+)"', request.body)
            assert found, request.body[:200]
            name = found.group(1).decode()
            job_id = f"{len(self.jobs) + 1:032d}"
            self.jobs[job_id] = job_json(job_id, filename=name)
            self.busiest = max(self.busiest, self.active())
            return Reply(201, [self.jobs[job_id]])
        job_id = request.path.split("/")[4]
        job = self.jobs[job_id]
        if request.path.endswith("/download/"):
            return Reply(200, zip_of(job["filename"].rsplit(".", 1)[0]))
        self.polls[job_id] = self.polls.get(job_id, 0) + 1
        if self.polls[job_id] >= self.polls_to_finish:
            job.update(status="succeeded", progress=100, stage="ready")
        return Reply(200, job)


def songs(folder: Path, count: int) -> list[Path]:
    paths = [folder / f"Song {n}.wav" for n in range(1, count + 1)]
    for path in paths:
        path.write_bytes(b"RIFF")
    return paths


def split(url: str, paths: list[Path], out: Path) -> Split:
    client = Client("token", url, retry=RetryPolicy(backoff=0.01))
    return Split(client, paths, out=out, model="htdemucs", poll_interval=0.05)


def test_songs_wait_for_a_free_slot_and_all_get_separated(tmp_path: Path):
    api = Api(slots=2)
    with scripted_server(api) as server:
        outcome = split(server.url, songs(tmp_path, 5), tmp_path / "out").run()
    assert [song.state for song in outcome.songs] == ["done"] * 5
    assert api.busiest == 2  # never more than the cap at once
    for song in outcome.songs:
        stem = song.path.stem
        assert song.folder == tmp_path / "out" / stem
        expected = ["escape.wav", f"{stem} - no_vocals.wav", f"{stem} - vocals.wav"]
        assert song.files == sorted(expected)
        assert sorted(p.name for p in song.folder.iterdir()) == song.files
    assert not (tmp_path / "escape.wav").exists()
    assert not [p for p in (tmp_path / "out").iterdir() if p.is_file()]  # no zips


def test_slots_taken_elsewhere_are_waited_for_not_failed(tmp_path: Path):
    api = Api(slots=2, elsewhere=1)
    with scripted_server(api) as server:
        outcome = split(server.url, songs(tmp_path, 3), tmp_path / "out").run()
    assert api.refused >= 1
    assert [song.state for song in outcome.songs] == ["done"] * 3
    assert outcome.stopped_by is None


def test_no_credits_stops_the_uploads_and_says_why(tmp_path: Path):
    def broke(request: Request) -> Reply:
        if request.path == "/api/v1/me/":
            return Reply(200, ACCOUNT)
        return error(402, "no_credits", "You have no credits left.")

    with scripted_server(broke) as server:
        outcome = split(server.url, songs(tmp_path, 3), tmp_path / "out").run()
    assert [song.state for song in outcome.songs] == ["skipped"] * 3
    assert outcome.stopped_by is not None and outcome.stopped_by.code == "no_credits"
    assert outcome.songs[0].error == "You have no credits left."
    assert sum(1 for r in server.requests if r.method == "POST") == 1


def test_two_songs_of_the_same_name_get_two_folders(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    paths = [tmp_path / "a" / "Song.wav", tmp_path / "b" / "Song.flac"]
    for path in paths:
        path.write_bytes(b"RIFF")
    with scripted_server(Api(slots=5)) as server:
        outcome = split(server.url, paths, tmp_path / "out").run()
    assert [song.folder.name for song in outcome.songs] == ["Song", "Song (2)"]


def test_ctrl_c_during_an_upload_waits_for_its_job_and_cancels_it(tmp_path: Path):
    """The interruption comes while the server is still answering the upload:
    the job it creates is known, and deleted, all the same."""
    api = Api(slots=5)

    def interrupted(request: Request) -> Reply:
        if request.method == "POST":
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, before the answer
        return api(request)

    with scripted_server(interrupted) as server:
        outcome = split(server.url, songs(tmp_path, 3), tmp_path / "out").run()
    assert outcome.interrupted
    [cancelled] = outcome.cancelled
    assert cancelled.state == "cancelled" and cancelled.job is not None
    deletes = [r.path for r in server.requests if r.method == "DELETE"]
    assert deletes == [f"/api/v1/jobs/{cancelled.job.id}/"]
    assert [s.state for s in outcome.songs[1:]] == ["not_uploaded"] * 2


def test_a_failed_job_is_reported_with_the_servers_message(tmp_path: Path):
    api = Api(slots=5)

    def failing(request: Request) -> Reply:
        reply = api(request)
        parts = request.path.split("/")  # /api/v1/jobs/<id>/...
        job = api.jobs.get(parts[4]) if len(parts) > 5 else None
        if request.method == "GET" and job and job["filename"] == "Song 2.wav":
            job.update(status="failed", stage="failed", error="The file is silent.")
            return Reply(200, job)
        return reply

    with scripted_server(failing) as server:
        outcome = split(server.url, songs(tmp_path, 2), tmp_path / "out").run()
    assert [song.state for song in outcome.songs] == ["done", "failed"]
    assert outcome.songs[1].error == "The file is silent."
    assert split_exit_code(outcome) == 1
