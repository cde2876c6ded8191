"""Admission: validation, the active-job cap and credits, all or nothing."""

import django_rq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.services import account_for_user, credits_adjust
from jobs import recovery, services
from jobs.models import Job
from tests.audio import song_bytes
from tests.conftest import shared_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def wav(tmp_path):
    return song_bytes(tmp_path, seconds=1.0)


def _upload(content: bytes, name: str = "My Song.wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="audio/wav")


def _submit(user, *uploads, **options):
    options.setdefault("model", "htdemucs")
    return services.jobs_submit(user=user, uploads=list(uploads), **options)


def test_a_job_is_admitted_charged_stored_and_enqueued(
    user, wav, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [job] = _submit(user, _upload(wav), two_stems="vocals", output_format="wav")
    assert job.status == Job.Status.QUEUED
    assert (job.model, job.two_stems, job.output_format) == (
        "htdemucs",
        "vocals",
        "wav",
    )
    assert job.original_filename == "My Song.wav"
    assert job.duration_seconds == pytest.approx(1.0, abs=0.01)
    assert account_for_user(user).balance == 2
    assert job.upload_path.read_bytes() == wav
    assert job.upload_path.name == "input.wav"  # our name, never the uploaded one
    [turn] = django_rq.get_queue("stems").get_jobs()
    assert turn.func_name == "jobs.tasks.job_process_next_task"
    assert shared_files() == [job.upload_path]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.mp3", b"", "is empty"),
        (
            "photo.mp3",
            b"\x89PNG\r\n\x1a\n" + b"\0" * 2048,
            "could not be read as audio",
        ),
        ("noise.wav", b"RIFF" + b"\x13" * 4000, "could not be read as audio"),
        ("notes.txt", b"hello", "not a supported audio file"),
    ],
)
def test_bad_files_are_refused_and_leave_nothing(user, name, content, message):
    with pytest.raises(services.InvalidAudio) as refused:
        _submit(user, _upload(content, name))
    assert message in refused.value.message
    assert refused.value.status_code == 400
    assert account_for_user(user).balance == 3
    assert not Job.objects.exists()
    assert shared_files() == []


def test_too_long_audio_is_refused(user, wav, settings):
    settings.MAX_AUDIO_MINUTES = 0
    with pytest.raises(services.InvalidAudio, match="the limit is 0 minutes"):
        _submit(user, _upload(wav))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"model": "nope"}, "Choose one of: htdemucs, htdemucs_ft, htdemucs_6s"),
        ({"two_stems": "guitar"}, "Choose one of: drums, bass, other, vocals"),
        ({"output_format": "ogg"}, "Choose one of: mp3, wav, flac"),
    ],
)
def test_unknown_choices_list_the_valid_ones(user, wav, options, message):
    with pytest.raises(services.InvalidJobRequest) as refused:
        _submit(user, _upload(wav), **options)
    assert message in refused.value.message
    assert shared_files() == []


def test_six_stem_model_accepts_guitar(user, wav):
    [job] = _submit(user, _upload(wav), model="htdemucs_6s", two_stems="guitar")
    assert job.two_stems == "guitar"


def test_a_sixth_active_job_waits_with_retry_after(user, wav):
    credits_adjust(user=user, delta=10, note="test")
    _submit(user, *[_upload(wav, f"{i}.wav") for i in range(5)])
    with pytest.raises(services.TooManyActiveJobs) as refused:
        _submit(user, _upload(wav))
    assert refused.value.status_code == 429
    assert refused.value.retry_after >= 5
    assert "5 of 5" in refused.value.message
    assert Job.objects.count() == 5
    assert account_for_user(user).balance == 8


def test_a_batch_is_all_or_nothing(user, wav):
    with pytest.raises(services.InsufficientCredits) as refused:
        _submit(user, *[_upload(wav, f"{i}.wav") for i in range(4)])
    assert refused.value.status_code == 402
    assert "You have 3 credits" in refused.value.message
    assert not Job.objects.exists()
    assert account_for_user(user).balance == 3
    assert shared_files() == []


def test_one_bad_file_refuses_the_whole_batch(user, wav):
    with pytest.raises(services.InvalidAudio):
        _submit(user, _upload(wav, "good.wav"), _upload(b"", "bad.wav"))
    assert not Job.objects.exists()
    assert shared_files() == []


def test_file_names_are_only_for_display(user, wav):
    [job] = _submit(user, _upload(wav, "../../etc/passwd\x00.wav"))
    assert job.original_filename == "passwd.wav"
    assert job.upload_path.parent == job.upload_dir


def test_cancel_refunds_and_removes_the_upload(user, wav):
    [job] = _submit(user, _upload(wav))
    assert services.job_cancel(job=job) is True
    assert services.job_cancel(job=job) is False
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert account_for_user(user).balance == 3
    assert shared_files() == []


def test_the_reaper_gives_back_lost_turns_and_fails_stuck_jobs(
    user, wav, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    lost, stuck = _submit(user, _upload(wav, "lost.wav"), _upload(wav, "stuck.wav"))
    django_rq.get_connection("default").flushdb()  # Redis lost its queue
    long_ago = timezone.now() - timedelta(days=1)
    Job.objects.filter(pk=stuck.pk).update(
        status=Job.Status.RUNNING, started_at=long_ago, heartbeat_at=long_ago
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.jobs_reap() == {"failed": 1, "adopted": 0, "requeued": 1}
    assert django_rq.get_queue("stems").count == 1  # one turn, for `lost`
    stuck.refresh_from_db()
    assert stuck.status == Job.Status.FAILED
    assert "stopped responding" in stuck.error
    assert account_for_user(user).balance == 2  # the stuck one was refunded
    assert recovery.jobs_reap() == {"failed": 0, "adopted": 0, "requeued": 0}
