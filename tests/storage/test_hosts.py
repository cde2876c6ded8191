"""Separation hosts without a shared folder (issue 18): each host a stemworker
and `manage.py rqworkers` on a scratch folder of its own, the web (this test
process) on another, all sharing only PostgreSQL, Redis and an S3 bucket.

Fairness stays global across hosts, a host SIGTERMed mid-job finishes it or
hands it back (another host takes it), one that vanishes (SIGKILL) has its job
failed by the reaper with the credit back, and a host that joins takes work."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.services import account_for_user, ledger_mismatches
from jobs import hosts
from jobs.models import Job, SeparationHost
from jobs.runner.reaper import jobs_reap
from tests.helpers.accounts import funded_user
from tests.helpers.audio import song_bytes
from tests.helpers.browser import wait_for
from tests.helpers.hosts import Host
from tests.helpers.jobs import local_files, submit, upload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

ENDED = (Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.CANCELLED)


@pytest.fixture
def make_host(tiny_models, s3_server, s3_bucket, settings):  # type: ignore[no-untyped-def]
    settings.MUXMINUS_HOST = "web"
    settings.HOST_BEAT_SECONDS = 1.0
    started: list[Host] = []

    def make(name: str, **options) -> Host:  # type: ignore[no-untyped-def]
        host = Host(name, tiny_models, s3_bucket, s3_server.endpoint_url, **options)
        started.append(host)
        return host

    yield make
    for host in started:
        host.close()


# A worker chooses a job a moment before it marks it started (it fetches the
# input and asks its stemworker in between): the check below allows that much.
CHOICE_SECONDS = 5.0


def running_throughout(jobs: list[Job], person: int, since, until) -> int:  # type: ignore[no-untyped-def]
    return sum(
        1
        for job in jobs
        if job.user_id == person
        and job.started_at <= since
        and job.finished_at >= until
    )


def running_sometime(jobs: list[Job], person: int, since, until) -> int:  # type: ignore[no-untyped-def]
    return sum(
        1
        for job in jobs
        if job.user_id == person and job.started_at < until and job.finished_at > since
    )


def all_ended(count: int) -> bool:
    return Job.objects.filter(status__in=ENDED).count() == count


def running_on_some_host() -> Job | None:
    return (
        Job.objects.filter(
            status=Job.Status.RUNNING, separated_at__isnull=True, progress__gt=0
        )
        .exclude(host="")
        .first()
    )


def test_ten_jobs_of_three_people_spread_over_two_hosts_in_fair_order(
    make_host, tmp_path, s3_server, s3_bucket
):
    a, b = make_host("host-a"), make_host("host-b")
    a.start_stemworker()
    b.start_stemworker()
    people = [funded_user() for _ in range(3)]
    song = song_bytes(tmp_path, seconds=5.0)
    # Everything queued first: the first of them queued its four songs first.
    for person, count in zip(people, (4, 3, 3), strict=True):
        for number in range(count):
            submit(person, upload(song, f"{person.pk}-{number}.wav"))
    a.start_workers()
    b.start_workers()
    wait_for(lambda: all_ended(10), timeout=400, what=a.tail() + b.tail())

    jobs = list(Job.objects.order_by("started_at"))
    assert all(job.status == Job.Status.SUCCEEDED for job in jobs), [
        (job.host, job.error) for job in jobs
    ]
    assert {job.host for job in jobs} == {"host-a", "host-b"}
    # Whichever host took it, each job went to a person with the fewest jobs
    # running among those still waiting (dispatch's first rule).
    for job in jobs:
        until = job.started_at
        since = until - timedelta(seconds=CHOICE_SECONDS)
        waiting = {other.user_id for other in jobs if other.started_at > until}
        mine = running_throughout(jobs, job.user_id, since, until)
        for person in waiting - {job.user_id}:
            assert mine <= running_sometime(jobs, person, since, until), job
    report = {r.host.name: r.as_dict() for r in hosts.hosts_report()}
    assert sorted(report) == ["host-a", "host-b"]
    assert report["host-a"]["slots"] == 1 and report["host-a"]["device"] == "cpu"
    assert "htdemucs" in report["host-b"]["models"]
    # Tempo and key are read from local copies of the stems after success.
    wait_for(
        lambda: not Job.objects.filter(key_confidence__isnull=True).exists(),
        timeout=120,
        what="tempo and key of every job",
    )
    assert a.stop() == 0 and b.stop() == 0  # they leave, having cleaned up
    # Four stems a job, no input left (a job's end removes it just after).
    assert len(s3_server.keys(s3_bucket)) == 10 * 4
    assert local_files() == [] and a.files() == [] and b.files() == []
    assert hosts.hosts_report() == []


def test_a_host_stopped_mid_job_hands_it_to_another(make_host, tmp_path):
    first = make_host("host-a", drain_seconds=0).start()
    person = funded_user()
    [job] = submit(person, upload(song_bytes(tmp_path, seconds=90.0)))
    running = wait_for(running_on_some_host, timeout=120, what=first.tail())
    assert running.host == "host-a"
    second = make_host("host-b").start()
    balance = account_for_user(person).balance

    first.terminate()
    assert first.wait_stopped(timeout=120) == 0, first.tail()
    assert not SeparationHost.objects.filter(name="host-a").exists()
    wait_for(lambda: all_ended(1), timeout=300, what=second.tail())
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, (job.error, second.tail())
    assert job.host == "host-b" and job.attempts == 2
    assert account_for_user(person).balance == balance  # charged once, as before
    assert not ledger_mismatches()
    assert second.stop() == 0
    assert first.files() == [] and second.files() == []


def test_a_host_that_vanishes_mid_job_fails_it_with_the_credit_back(
    make_host, tmp_path, settings
):
    doomed, survivor = make_host("host-a").start(), None
    person = funded_user()
    balance = account_for_user(person).balance
    [job] = submit(person, upload(song_bytes(tmp_path, seconds=90.0)))
    wait_for(running_on_some_host, timeout=120, what=doomed.tail())
    doomed.vanish()
    # The reaper's next round once the job's heartbeat is overdue.
    later = timezone.now() + timedelta(
        seconds=settings.JOB_HEARTBEAT_TIMEOUT_SECONDS + 5
    )
    assert jobs_reap(now=later)["failed"] == 1
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "stopped responding" in job.error
    assert account_for_user(person).balance == balance
    assert not ledger_mismatches()
    # The vanished host is no longer listed once its beats stop.
    wait_for(
        lambda: "host-a" not in hosts.hosts_up_names(), timeout=30, what="host-a gone"
    )
    survivor = make_host("host-b").start()
    [again] = submit(person, upload(song_bytes(tmp_path, seconds=5.0)))
    wait_for(lambda: all_ended(2), timeout=200, what=survivor.tail())
    again.refresh_from_db()
    assert again.status == Job.Status.SUCCEEDED and again.host == "host-b"


def test_a_host_that_joins_mid_run_takes_work(make_host, tmp_path):
    alone = make_host("host-a").start()
    joining = make_host("host-b")
    joining.start_stemworker()
    people = [funded_user() for _ in range(2)]
    song = song_bytes(tmp_path, seconds=30.0)
    for person in people:
        for number in range(3):
            submit(person, upload(song, f"{number}.wav"))
    wait_for(running_on_some_host, timeout=120, what=alone.tail())
    joined = timezone.now()
    joining.start_workers()
    wait_for(lambda: all_ended(6), timeout=400, what=alone.tail() + joining.tail())
    jobs = list(Job.objects.all())
    assert all(job.status == Job.Status.SUCCEEDED for job in jobs)
    taken = sorted(j.started_at for j in jobs if j.host == "host-b")
    assert taken, "the host that joined took no job"
    waited = (taken[0] - joined).total_seconds()
    print(f"host-b took its first job {waited:.1f} s after it started")  # noqa: T201
