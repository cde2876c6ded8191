"""jobs/store.py on both backends: the filesystem under SHARED_ROOT, and a
bucket of a real S3-compatible server over HTTP (devtools/s3_server.py)."""

import os
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from jobs.store import StoredFileMissing, store, store_warm


@pytest.fixture(params=["filesystem", "s3"])
def backend(request) -> str:  # type: ignore[no-untyped-def]
    if request.param == "s3":
        request.getfixturevalue("s3_bucket")
    return request.param


def scratch_file(name: str, content: bytes) -> Path:
    path = Path(settings.SHARED_ROOT) / "tmp" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_a_kept_file_is_read_back_and_its_local_file_is_gone(backend):
    files = store()
    local = scratch_file("made.wav", b"RIFF" + b"x" * 5000)
    files.keep("outputs/job-1/vocals.wav", local, content_type="audio/wav")
    assert files.exists("outputs/job-1/vocals.wav")
    assert files.size("outputs/job-1/vocals.wav") == 5004
    assert not local.exists()
    with files.local_copy("outputs/job-1/vocals.wav") as copy:
        assert copy.read_bytes() == b"RIFF" + b"x" * 5000
    fetched = Path(settings.SHARED_ROOT) / "uploads" / "job-1" / "input.wav"
    files.fetch("outputs/job-1/vocals.wav", fetched)
    assert fetched.read_bytes().startswith(b"RIFF")


def test_a_file_kept_with_retain_stays_where_it_was_made(backend):
    files = store()
    local = scratch_file("made.mp3", b"ID3" + b"y" * 100)
    files.keep("outputs/job-1/vocals.mp3", local, retain=True)
    assert local.read_bytes() == b"ID3" + b"y" * 100
    with files.local_copy("outputs/job-1/vocals.mp3") as copy:
        assert copy.read_bytes() == local.read_bytes()


def test_a_warmed_s3_client_is_the_one_a_forked_work_horse_uses(s3_bucket):
    """rqworkers warms the store before forking: a work horse (forked per job)
    then uses the client already built instead of paying a second for one."""
    store_warm()
    built = id(store()._client)  # type: ignore[attr-defined]
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.write(write, str(id(store()._client)).encode())  # type: ignore[attr-defined]
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    assert int(os.read(read, 64)) == built


def test_a_missing_key_says_so(backend):
    files = store()
    assert not files.exists("outputs/none/vocals.wav")
    with pytest.raises(StoredFileMissing):
        files.size("outputs/none/vocals.wav")
    with pytest.raises(StoredFileMissing), files.local_copy("outputs/none/vocals.wav"):
        pass
    with pytest.raises(StoredFileMissing):
        files.fetch("outputs/none/vocals.wav", Path(settings.SHARED_ROOT) / "x.wav")


def test_removing_a_folder_removes_everything_under_it_and_nothing_else(backend):
    files = store()
    for key in ("outputs/a/vocals.mp3", "outputs/a/mixes/m.mp3", "outputs/ab/x.mp3"):
        files.keep(key, scratch_file("f", b"data"))
    assert files.remove("outputs/a") == 2
    assert not files.exists("outputs/a/vocals.mp3")
    assert not files.exists("outputs/a/mixes/m.mp3")
    assert files.exists("outputs/ab/x.mp3")  # a longer name is another folder
    assert files.remove("outputs/a") == 0


def test_entries_are_a_folders_children_with_their_newest_change(backend):
    files = store()
    before = time.time() - 5
    files.keep("uploads/one/input.wav", scratch_file("f", b"1"))
    files.keep("uploads/two/input.wav", scratch_file("f", b"2"))
    entries = {entry.name: entry.modified for entry in files.entries("uploads")}
    assert sorted(entries) == ["one", "two"]
    assert all(before < modified < time.time() + 5 for modified in entries.values())
    assert files.entries("nothing-here") == []


def test_on_s3_a_download_is_a_short_lived_presigned_url_that_names_the_file(
    s3_bucket,
):
    files = store()
    files.keep(
        "outputs/j/vocals.mp3", scratch_file("v", b"ID3mp3"), content_type="audio/mpeg"
    )
    url = files.download_url(
        "outputs/j/vocals.mp3",
        filename="My Song - vocals.mp3",
        content_type="audio/mpeg",
        as_attachment=True,
    )
    assert url is not None and "X-Amz-Expires=300" in url
    answer = httpx.get(url)
    assert answer.status_code == 200 and answer.content == b"ID3mp3"
    assert answer.headers["content-type"] == "audio/mpeg"
    assert 'filename="My Song - vocals.mp3"' in answer.headers["content-disposition"]
    assert answer.headers["content-disposition"].startswith("attachment")
    # Ranges, for the player's seeking.
    part = httpx.get(url, headers={"Range": "bytes=3-5"})
    assert part.status_code == 206 and part.content == b"mp3"


def test_on_the_filesystem_there_is_no_url_django_sends_the_file(settings):
    settings.STORAGE_BACKEND = "filesystem"
    url = store().download_url(
        "outputs/j/vocals.mp3",
        filename="x.mp3",
        content_type="audio/mpeg",
        as_attachment=True,
    )
    assert url is None
