"""Faults injected into real processes mid-job: every job still ends (succeeded,
or failed with its credit back), the ledger balances, and no file is left that
no job needs.

The worker is `manage.py rqworker` in its own process group, the stemworker a
real uvicorn running demucs on tiny models, Redis and PostgreSQL the real ones.
"""

import threading
import time
from pathlib import Path

import django_rq
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from billing.services import account_for_user, ledger_mismatches
from jobs import messages, storage
from jobs import stemworker as stemworker_api
from jobs.intake.admission import jobs_submit
from jobs.models import Job
from jobs.runner import reaper
from jobs.store import is_shared_folder
from tests.helpers.accounts import signed_up_user
from tests.helpers.audio import song_bytes
from tests.helpers.faults import FlakyTcpProxy, database_url, wait_until
from tests.helpers.jobs import local_files
from tests.helpers.stored import bucket_keys, shared_files

pytestmark = pytest.mark.timeout(300)

SECONDS = 10.0  # long enough to hit mid-separation, short on 2 cores


def submit(user, tmp_path: Path, count: int, prefix: str = "song") -> list[Job]:  # type: ignore[no-untyped-def]
    """Admit `count` songs for `user` through the service the site and API use."""
    audio = song_bytes(tmp_path, seconds=SECONDS)
    uploads = [
        SimpleUploadedFile(f"{prefix} {n}.wav", audio, content_type="audio/wav")
        for n in range(count)
    ]
    return jobs_submit(user=user, uploads=uploads, model="htdemucs")


def separating(job: Job) -> bool:
    """Running in the database and in the stemworker."""
    if status_of(job) != Job.Status.RUNNING:
        return False
    try:
        return stemworker_api.separation_get(str(job.pk))["status"] == "running"
    except (stemworker_api.SeparationNotFound, stemworker_api.StemworkerUnavailable):
        return False


def all_ended() -> bool:
    """No job active, and the worker done tidying up after the last one."""
    return not Job.objects.active().exists() and not scratch_left()


def scratch_left() -> list[Path]:
    """Uploads and work folders still on the shared storage (or, on s3, the
    uploads still in the bucket)."""
    local = [
        entry
        for folder in ("work", "uploads")
        if (settings.SHARED_ROOT / folder).exists()
        for entry in (settings.SHARED_ROOT / folder).iterdir()
    ]
    stored = [] if is_shared_folder() else bucket_keys()
    return local + [
        settings.SHARED_ROOT / key
        for key in stored
        if key.split("/", 1)[0] in ("work", "uploads")
    ]


def status_of(job: Job) -> str:
    job.refresh_from_db()
    return job.status


def assert_books_balanced(*people) -> None:  # type: ignore[no-untyped-def]
    """Every credit accounted for, and only succeeded jobs' stems on the storage."""
    assert ledger_mismatches() == []
    call_command("check_ledger")
    for person in people:
        done = person.jobs.filter(status=Job.Status.SUCCEEDED).count()
        assert account_for_user(person).balance == 3 - done
    kept = {
        str(pk)
        for pk in Job.objects.filter(status=Job.Status.SUCCEEDED).values_list(
            "pk", flat=True
        )
    }
    for path in shared_files():
        folder, owner, *_ = path.relative_to(settings.SHARED_ROOT).parts
        assert (folder, owner in kept) == ("outputs", True), f"left behind: {path}"
    if not is_shared_folder():  # on s3 the scratch keeps no input or stem of it
        left = [
            path
            for path in local_files()
            if path.relative_to(settings.SHARED_ROOT).parts[0] in ("uploads", "outputs")
        ]
        assert left == [], "left in the scratch"


def test_a_worker_killed_mid_job(baseline, stemworker, rq_workers, settings, tmp_path):
    """Its separation goes on in the stemworker; the reaper collects the stems."""
    settings.JOB_HEARTBEAT_TIMEOUT_SECONDS = 3
    person = signed_up_user()
    first, second = submit(person, tmp_path, 2)
    worker = rq_workers()
    wait_until(lambda: separating(first), 120, "the first separation")
    worker.kill()
    rq_workers()  # its replacement, as a process manager would start
    time.sleep(settings.JOB_HEARTBEAT_TIMEOUT_SECONDS + 1)

    def reaped() -> bool:
        reaper.jobs_reap()
        return status_of(first) != Job.Status.RUNNING

    wait_until(reaped, 120, "the reaper to see to the first job")
    wait_until(all_ended, 180, "every job to end")
    assert status_of(first) == Job.Status.SUCCEEDED, first.error
    assert first.stems.count() == 4
    assert status_of(second) == Job.Status.SUCCEEDED
    with pytest.raises(stemworker_api.SeparationNotFound):
        stemworker_api.separation_get(str(first.pk))  # collected and forgotten
    assert_books_balanced(person)


def test_a_worker_killed_for_good_with_no_result_fails_the_job(
    baseline, stemworker, rq_workers, settings, tmp_path
):
    """The worker and the stemworker both gone: the reaper fails it, credit back."""
    settings.JOB_HEARTBEAT_TIMEOUT_SECONDS = 3
    person = signed_up_user()
    [job] = submit(person, tmp_path, 1)
    worker = rq_workers()
    wait_until(lambda: separating(job), 120, "the separation")
    worker.kill()
    stemworker.kill()
    time.sleep(settings.JOB_HEARTBEAT_TIMEOUT_SECONDS + 1)

    assert reaper.jobs_reap()["failed"] == 1

    job.refresh_from_db()
    assert (job.status, job.error) == (Job.Status.FAILED, messages.STOPPED_RESPONDING)
    later = time.time() + storage.SWEEP_GRACE_SECONDS + 1
    storage.shared_volume_sweep(now=later)  # the work folder nobody will delete
    assert_books_balanced(person)


@pytest.mark.parametrize(
    ("how", "comes_back", "ends"),
    [
        ("kill", True, Job.Status.SUCCEEDED),
        ("stop", True, Job.Status.SUCCEEDED),
        ("kill", False, Job.Status.FAILED),
    ],
    ids=["killed-then-restarted", "stopped-then-started", "killed-for-good"],
)
def test_the_stemworker_lost_mid_job(
    baseline, stemworker, rq_workers, tmp_path, how, comes_back, ends
):
    person = signed_up_user()
    [job] = submit(person, tmp_path, 1)
    rq_workers(down_seconds=120 if comes_back else 3)
    wait_until(lambda: separating(job), 120, "the separation")
    stemworker.kill() if how == "kill" else stemworker.stop()
    if comes_back:
        stemworker.start()

    if comes_back:
        wait_until(all_ended, 180, "the job to end")
    else:
        wait_until(lambda: not Job.objects.active().exists(), 180, "the job to end")
        # Its work folder stays until the stemworker would have cleaned it up
        # (the worker empties the rest just after the job ended); the sweeper
        # removes it once the grace period has passed.
        wait_until(lambda: len(scratch_left()) == 1, 60, "the worker to tidy up")
        [left] = scratch_left()
        assert left.parent == settings.SHARED_ROOT / "work"
        later = time.time() + storage.SWEEP_GRACE_SECONDS + 1
        assert storage.shared_volume_sweep(now=later) == 1
    job.refresh_from_db()
    assert job.status == ends, job.error
    if ends == Job.Status.FAILED:
        assert "unavailable right now" in job.error
    assert_books_balanced(person)


def test_redis_flushed_mid_job(baseline, stemworker, rq_workers, tmp_path):
    alice, bob = signed_up_user(), signed_up_user()
    running, *queued = submit(alice, tmp_path, 2, "alice")
    queued += submit(bob, tmp_path, 1, "bob")
    rq_workers()
    wait_until(lambda: separating(running), 120, "the first separation")
    django_rq.get_connection("stems").flushdb()  # every turn is gone

    assert reaper.jobs_reap()["requeued"] == 2  # PostgreSQL knows they wait

    wait_until(all_ended, 240, "every job to end")
    assert {status_of(job) for job in [running, *queued]} == {Job.Status.SUCCEEDED}
    assert_books_balanced(alice, bob)


def test_postgresql_briefly_unreachable_mid_job(
    baseline, stemworker, rq_workers, tmp_path
):
    proxy = FlakyTcpProxy(5432)
    try:
        person = signed_up_user()
        [job] = submit(person, tmp_path, 1)
        rq_workers(database=database_url(proxy.port))
        wait_until(lambda: separating(job), 120, "the separation")
        proxy.outage(seconds=8)  # longer than the separation has left
        wait_until(all_ended, 180, "the job to end")
    finally:
        proxy.close()
    assert status_of(job) == Job.Status.SUCCEEDED, job.error
    assert_books_balanced(person)


def test_a_turn_that_meets_an_unreachable_database_waits_and_is_not_lost(
    baseline, stemworker, rq_workers, tmp_path
):
    """The database is down when the worker takes the turn: the turn waits for it
    instead of failing (a failed turn was a lost one: the song sat queued until
    the reaper's next minute, and no reaper runs here)."""
    proxy = FlakyTcpProxy(5432)
    try:
        person = signed_up_user()
        [job] = submit(person, tmp_path, 1)
        outage = threading.Thread(target=proxy.outage, kwargs={"seconds": 6})
        outage.start()
        wait_until(proxy.cut.is_set, 10, "the outage")
        rq_workers(database=database_url(proxy.port))
        outage.join()
        wait_until(all_ended, 180, "the job to end")
    finally:
        proxy.close()
    assert status_of(job) == Job.Status.SUCCEEDED, job.error
    assert_books_balanced(person)
