"""Downloads: streamed to disk, named as the server says, resumed with Range."""

import os
import re
from pathlib import Path

import pytest
from muxminus import Client, ConnectionFailed, Expired, RetryPolicy

from tests.client.server import Reply, Request, error, scripted_server

ZIP = os.urandom(700_000)
JOB = "6f1c0000-0000-0000-0000-000000000001"
DISPOSITION = "attachment; filename*=utf-8''Caf%C3%A9%20-%20stems.zip"
FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05)


def ranged(request: Request, data: bytes = ZIP, **extra: str) -> Reply:
    """The file, or the part a Range asks for, as nginx answers."""
    headers = {"Content-Disposition": DISPOSITION, **extra}
    asked = re.fullmatch(r"bytes=(\d+)-", request.headers.get("range", ""))
    if not asked:
        return Reply(200, data, headers)
    start = int(asked.group(1))
    if start >= len(data):
        return Reply(416, b"", {"Content-Range": f"bytes */{len(data)}"})
    headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
    return Reply(206, data[start:], headers)


def client(url: str) -> Client:
    return Client("token", url, retry=FAST)


def test_the_zip_lands_in_the_folder_under_the_servers_name(tmp_path: Path):
    seen: list[tuple[int, int | None]] = []
    with scripted_server(ranged) as server:
        saved = client(server.url).jobs.download(
            JOB, tmp_path, on_progress=lambda done, total: seen.append((done, total))
        )
    assert saved == tmp_path / "Café - stems.zip"
    assert saved.read_bytes() == ZIP
    assert seen[-1] == (len(ZIP), len(ZIP))
    assert [p.name for p in tmp_path.iterdir()] == [saved.name]  # no .part left
    assert server.requests[0].path == f"/api/v1/jobs/{JOB}/download/"


def test_one_stem_goes_to_the_file_asked_for(tmp_path: Path):
    with scripted_server(ranged) as server:
        saved = client(server.url).jobs.download(
            JOB, tmp_path / "vocals.mp3", stem="vocals"
        )
    assert saved == tmp_path / "vocals.mp3" and saved.read_bytes() == ZIP
    assert server.requests[0].path == f"/api/v1/jobs/{JOB}/stems/vocals/"


def test_a_partial_file_is_resumed_with_a_range_request(tmp_path: Path):
    (tmp_path / "stems.zip.part").write_bytes(ZIP[:250_000])
    with scripted_server(ranged) as server:
        saved = client(server.url).jobs.download(JOB, tmp_path / "stems.zip")
    assert saved.read_bytes() == ZIP
    [request] = server.requests
    assert request.headers["range"] == "bytes=250000-"


def test_a_connection_cut_mid_file_is_resumed(tmp_path: Path):
    cuts = iter([300_000])

    def flaky(request: Request) -> Reply:
        reply = ranged(request)
        reply.cut_after = next(cuts, None)
        return reply

    with scripted_server(flaky) as server:
        saved = client(server.url).jobs.download(JOB, tmp_path)
    assert saved.read_bytes() == ZIP
    first, resumed = server.requests
    assert "range" not in first.headers
    # Resumed after what was on disk: no more than the server had sent.
    start = int(resumed.headers["range"].removeprefix("bytes=").rstrip("-"))
    assert 0 < start <= 300_000


def test_a_server_that_ignores_range_gets_the_file_rewritten(tmp_path: Path):
    (tmp_path / "stems.zip.part").write_bytes(b"stale bytes")
    with scripted_server(lambda request: Reply(200, ZIP)) as server:
        saved = client(server.url).jobs.download(JOB, tmp_path / "stems.zip")
    assert saved.read_bytes() == ZIP
    assert server.requests[0].headers["range"] == "bytes=11-"


def test_a_part_longer_than_the_file_starts_over(tmp_path: Path):
    (tmp_path / "stems.zip.part").write_bytes(ZIP + b"more")
    with scripted_server(ranged) as server:
        saved = client(server.url).jobs.download(JOB, tmp_path / "stems.zip")
    assert saved.read_bytes() == ZIP
    assert [r.headers.get("range") for r in server.requests] == [
        f"bytes={len(ZIP) + 4}-",
        None,
    ]


def test_a_file_that_never_arrives_whole_gives_up(tmp_path: Path):
    def always_cut(request: Request) -> Reply:
        return Reply(200, ZIP, cut_after=1000)

    with scripted_server(always_cut) as server:
        with pytest.raises(ConnectionFailed):
            client(server.url).jobs.download(JOB, tmp_path / "stems.zip")
    assert len(server.requests) == FAST.attempts


def test_expired_stems_raise_expired(tmp_path: Path):
    with scripted_server(lambda request: error(410, "expired", "Deleted.")) as server:
        with pytest.raises(Expired, match="Deleted."):
            client(server.url).jobs.download(JOB, tmp_path)
