"""One job end to end on real parts: dashboard upload, RQ, stemworker, demucs CLI.

Also each way a job can fail: every failure ends with a readable message, the
credit back, and no files left behind.
"""

import io
import os
import shutil
import signal
import threading
import time
import zipfile
from pathlib import Path

import pytest
import soundfile as sf
from django.core.cache import cache
from django.urls import reverse

from billing.services import account_for_user, ledger_mismatches
from devtools.audio import write_canonical
from devtools.stemworker_process import (
    free_port,
    start_stemworker,
    stop_stemworker,
    wait_healthy,
)
from jobs import budget, catalog, stemworker, storage
from jobs.models import Job
from jobs.stemworker import SeparationRequest
from tests.helpers.audio import write_song
from tests.helpers.jobs import run_queue
from tests.helpers.stored import (
    download,
    is_stored,
    shared_files,
    stored_bytes,
    stored_copy,
    stored_remove,
    stored_replace,
)

pytestmark = pytest.mark.django_db

SECONDS = 5.0


def upload(
    client, tmp_path, *, name="Demo Song.wav", seconds=SECONDS, **options
) -> Job:
    path = write_song(tmp_path / "input.wav", seconds=seconds)
    data = {"model": "htdemucs", "two_stems": "", "output_format": "mp3", **options}
    with path.open("rb") as handle:
        content = io.BytesIO(handle.read())
    content.name = name
    response = client.post(reverse("jobs:upload"), {**data, "songs": [content]})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Job.objects.latest("created_at")


@pytest.mark.parametrize(
    ("options", "stems"),
    [
        (
            {"model": "htdemucs", "output_format": "mp3"},
            ["bass", "drums", "other", "vocals"],
        ),
        (
            {"model": "htdemucs_6s", "output_format": "wav"},
            ["bass", "drums", "guitar", "other", "piano", "vocals"],
        ),
        (
            {"model": "htdemucs", "two_stems": "vocals", "output_format": "flac"},
            ["no_vocals", "vocals"],
        ),
        (
            {"model": "htdemucs_ft", "two_stems": "drums", "output_format": "mp3"},
            ["drums", "no_drums"],
        ),
    ],
    ids=["4-stems-mp3", "6-stems-wav", "two-stems-flac", "bag-two-stems-mp3"],
)
def test_a_song_becomes_downloadable_stems(
    client,
    user,
    tmp_path,
    live_stemworker,
    django_capture_on_commit_callbacks,
    options,
    stems,
):
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        job = upload(client, tmp_path, **options)
    assert job.status == Job.Status.QUEUED
    assert is_stored(storage.canonical_path(job))
    run_queue()

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, (job.error, job.error_log[-2000:])
    assert job.progress == 100
    assert job.expires_at is not None and job.finished_at is not None
    assert sorted(stem.name for stem in job.stems.all()) == stems
    for stem in job.stems.all():
        assert stem.path.suffix == f".{options['output_format']}"
        with stored_copy(stem.path) as local:
            info = sf.info(str(local))
            assert stem.size_bytes == local.stat().st_size > 0
        assert abs(info.frames / info.samplerate - SECONDS) < 0.1
        assert len(stem.peaks) > 100
    # Originals are never kept; the stemworker's work folder is gone too.
    assert not is_stored(storage.canonical_path(job))
    assert sorted(shared_files()) == sorted(stem.path for stem in job.stems.all())
    assert account_for_user(user).balance == 2

    response = download(client, reverse("jobs:zip", args=[job.pk]))
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    expected = sorted(
        f"Demo Song - {name}.{options['output_format']}" for name in stems
    )
    assert sorted(archive.namelist()) == expected
    stem = download(client, reverse("jobs:stem", args=[job.pk, stems[0]]))
    assert stem.status_code == 200 and stem.content == stored_bytes(
        job.stems.get(name=stems[0]).path
    )
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert page.count("<audio") == len(stems)


def _admit(client, user, tmp_path, captured, **options) -> Job:
    client.force_login(user)
    with captured(execute=True):
        return upload(client, tmp_path, **options)


def assert_failed_and_refunded(job: Job, user, message: str) -> None:
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert message in job.error
    assert account_for_user(job.user).balance == 3
    assert job.user.credit_account.entries.filter(kind="job_refund").count() == 1
    assert not ledger_mismatches()
    assert shared_files() == []


def test_a_file_corrupted_after_upload_fails_readably(
    client, user, tmp_path, live_stemworker, django_capture_on_commit_callbacks
):
    job = _admit(client, user, tmp_path, django_capture_on_commit_callbacks)
    stored_replace(
        storage.canonical_path(job), b"RIFF\x00\x00\x00\x00WAVEgarbage" * 100
    )
    run_queue()
    assert_failed_and_refunded(job, user, "could not be read as audio")


def test_a_missing_upload_fails_even_though_demucs_exits_0(
    client, user, tmp_path, live_stemworker, django_capture_on_commit_callbacks
):
    job = _admit(client, user, tmp_path, django_capture_on_commit_callbacks)
    stored_remove(storage.canonical_path(job))
    run_queue()
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error
    assert_failed_and_refunded(job, user, "")


def test_a_model_without_weights_is_refused_by_the_stemworker_at_once(
    client,
    user,
    tmp_path,
    live_stemworker,
    settings,
    django_capture_on_commit_callbacks,
):
    # Admitted on what the site knew (say, before the weights were deleted and
    # the stemworker restarted); admission refuses it otherwise (tests/api).
    settings.DEMUCS_MODELS = [*settings.DEMUCS_MODELS, "mdx_extra"]
    listed = catalog.models_available()
    cache.set(catalog.CACHE_KEY, [{**m, "available": True} for m in listed], 300)
    job = _admit(
        client, user, tmp_path, django_capture_on_commit_callbacks, model="mdx_extra"
    )
    started = time.monotonic()
    run_queue()
    assert time.monotonic() - started < 10  # refused, not failed once demucs gave up
    assert_failed_and_refunded(
        job,
        user,
        "Model weights for mdx_extra are not available on this server: "
        "weights not found in DEMUCS_REPO.",
    )


def test_a_stemworker_that_is_down_fails_the_job_with_its_credit_back(
    client, user, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.STEMWORKER_DOWN_SECONDS = 1
    job = _admit(client, user, tmp_path, django_capture_on_commit_callbacks)
    run_queue()
    assert_failed_and_refunded(job, user, "unavailable right now")


def _occupy_the_only_slot(stemworker_pid: int) -> str:
    """Take the single slot with a separation that never ends by itself.

    Its worker is stopped (SIGSTOP) before the job is sent, so the job waits in
    the worker's pipe until `_release` kills it: the slot stays busy however
    fast this machine.
    """
    for pid in _pool_worker_pids(stemworker_pid):
        os.kill(pid, signal.SIGSTOP)
    canonical = write_canonical(storage.root() / "uploads" / "blocker" / "input.wav")
    stemworker.separation_post(
        SeparationRequest(
            id="blocker",
            input_path=str(canonical),
            model="htdemucs",
            two_stems=None,
            output_format="wav",
            timeout_seconds=300,
        )
    )
    _wait_until_running("blocker")
    return "blocker"


def _release(blocker: str) -> None:
    stemworker.separation_delete(blocker)
    shutil.rmtree(storage.root() / "uploads" / blocker)


def test_a_busy_stemworker_makes_the_job_wait_then_run(
    client,
    user,
    tmp_path,
    live_stemworker,
    shared_stemworker,
    django_capture_on_commit_callbacks,
):
    blocker = _occupy_the_only_slot(shared_stemworker.pid)
    job = _admit(client, user, tmp_path, django_capture_on_commit_callbacks)
    # Only this release frees the slot; the job cannot start before it.
    release = threading.Timer(2.0, _release, args=[blocker])
    release.start()
    run_queue()
    release.join()
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert (job.started_at - job.created_at).total_seconds() >= 2.0


def test_a_long_poll_for_a_slot_answers_when_one_frees_up(
    live_stemworker, shared_stemworker
):
    blocker = _occupy_the_only_slot(shared_stemworker.pid)
    threading.Timer(1.0, _release, args=[blocker]).start()
    started = time.monotonic()
    stemworker.slot_wait(wait=45)
    assert time.monotonic() - started < 30  # the blocker never ends by itself
    assert stemworker.separation_post(
        SeparationRequest(
            id="after",
            input_path=str(write_canonical(storage.root() / "after.wav", 1.0)),
            model="htdemucs",
            two_stems=None,
            output_format="wav",
            timeout_seconds=60,
        )
    )["status"] in ("running", "succeeded")
    stemworker.separation_delete("after")


def test_a_stemworker_busy_for_too_long_fails_the_job_within_its_budget(
    client,
    user,
    tmp_path,
    live_stemworker,
    shared_stemworker,
    settings,
    django_capture_on_commit_callbacks,
):
    wait_seconds = 2
    settings.STEMWORKER_WAIT_SECONDS = wait_seconds
    blocker = _occupy_the_only_slot(shared_stemworker.pid)
    try:
        job = _admit(client, user, tmp_path, django_capture_on_commit_callbacks)
        run_queue()
        job.refresh_from_db()
    finally:
        _release(blocker)
    assert_failed_and_refunded(job, user, "stayed busy")
    # A long poll for a slot lasts up to SLOT_POLL_SECONDS, but never past
    # what is left of the job's budget: it fails once the budget is spent.
    waited = (job.finished_at - job.created_at).total_seconds()
    assert wait_seconds <= waited < wait_seconds + budget.SLOT_POLL_SECONDS / 2


def _wait_until_running(separation_id: str) -> None:
    """Block until the stemworker reports the separation as running."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if stemworker.separation_get(separation_id)["status"] == "running":
                return
        except (stemworker.SeparationNotFound, stemworker.StemworkerUnavailable):
            pass
        time.sleep(0.1)
    raise TimeoutError(separation_id)


def _pool_worker_pids(parent_pid: int) -> list[int]:
    """This stemworker's pool workers only: other suites may run on the machine."""
    mark = f'"parent_pid": {parent_pid},'.encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"stemworker.pool_worker" in cmdline and mark in cmdline:
                pids.append(int(entry.name))
    return pids


def test_demucs_killed_mid_job_fails_with_credit_back(
    client,
    user,
    tmp_path,
    live_stemworker,
    shared_stemworker,
    django_capture_on_commit_callbacks,
):
    job = _admit(
        client, user, tmp_path, django_capture_on_commit_callbacks, seconds=30.0
    )

    def kill_when_running() -> None:
        _wait_until_running(str(job.pk))
        pids = _pool_worker_pids(shared_stemworker.pid)
        assert pids
        for pid in pids:
            os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_when_running)
    killer.start()
    run_queue()
    killer.join()
    assert_failed_and_refunded(job, user, "stopped unexpectedly")


def test_a_stemworker_restart_mid_job_resubmits_the_job(
    client, user, tmp_path, tiny_models, settings, django_capture_on_commit_callbacks
):
    port = free_port()
    env = {
        "STEMWORKER_TOKEN": settings.STEMWORKER_TOKEN,
        "SHARED_ROOT": str(settings.SHARED_ROOT),
        "DEMUCS_REPO": str(tiny_models),
        "STEMWORKER_WARMUP": "false",
    }
    settings.STEMWORKER_URL = f"http://127.0.0.1:{port}"
    settings.STEMWORKER_DOWN_SECONDS = 60
    servers = [start_stemworker(port, env)]
    wait_healthy(settings.STEMWORKER_URL, timeout=120)
    job = _admit(
        client, user, tmp_path, django_capture_on_commit_callbacks, seconds=20.0
    )

    def restart_when_running() -> None:
        _wait_until_running(str(job.pk))
        stop_stemworker(servers[0])
        servers.append(start_stemworker(port, env))

    restarter = threading.Thread(target=restart_when_running)
    restarter.start()
    try:
        run_queue()
    finally:
        restarter.join()
        for server in servers:
            stop_stemworker(server)
    job.refresh_from_db()
    assert len(servers) == 2
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert account_for_user(user).balance == 2
    assert not storage.upload_dir(job).exists()
    assert not is_stored(storage.canonical_path(job))
