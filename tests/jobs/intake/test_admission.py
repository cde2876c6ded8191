"""Admission: validation, the active-job cap and credits, all or nothing."""

import io

import django_rq
import numpy as np
import pytest
import soundfile as sf

from billing.services import InsufficientCredits, account_for_user, credits_adjust
from jobs import storage
from jobs.intake import errors
from jobs.models import Job
from tests.helpers.jobs import submit, upload
from tests.helpers.stored import shared_files, stored_copy

pytestmark = pytest.mark.django_db


def test_a_job_is_admitted_charged_stored_and_enqueued(
    user, wav, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [job] = submit(user, upload(wav), two_stems="vocals", output_format="wav")
    assert job.status == Job.Status.QUEUED
    assert (job.model, job.two_stems, job.output_format) == (
        "htdemucs",
        "vocals",
        "wav",
    )
    assert job.original_filename == "My Song.wav"
    assert job.duration_seconds == pytest.approx(1.0, abs=0.01)
    assert account_for_user(user).balance == 2
    # What is kept is our decode of the upload, under our name: the same
    # samples as float, stereo, 44.1 kHz; the upload itself is gone.
    assert storage.canonical_path(job).name == "input.wav"
    with stored_copy(storage.canonical_path(job)) as kept:
        info = sf.info(str(kept))
        decoded, _ = sf.read(str(kept), dtype="float32")
    assert (info.subtype, info.samplerate, info.channels) == ("FLOAT", 44100, 2)
    uploaded, _ = sf.read(io.BytesIO(wav), dtype="float32")
    assert np.allclose(decoded, uploaded, atol=1e-4)
    [turn] = django_rq.get_queue("stems").get_jobs()
    assert turn.func_name == "jobs.runner.tasks.job_process_next_task"
    assert shared_files() == [storage.canonical_path(job)]


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
    with pytest.raises(errors.InvalidAudio) as refused:
        submit(user, upload(content, name))
    assert message in refused.value.message
    assert refused.value.status_code == 400
    assert account_for_user(user).balance == 3
    assert not Job.objects.exists()
    assert shared_files() == []


def test_too_long_audio_is_refused(user, wav, settings):
    settings.MAX_AUDIO_MINUTES = 0
    with pytest.raises(errors.InvalidAudio, match="the limit is 0 minutes"):
        submit(user, upload(wav))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"model": "nope"}, "Choose one of: htdemucs, htdemucs_ft, htdemucs_6s"),
        ({"two_stems": "guitar"}, "Choose one of: drums, bass, other, vocals"),
        ({"output_format": "ogg"}, "Choose one of: mp3, wav, flac"),
    ],
)
def test_unknown_choices_list_the_valid_ones(user, wav, options, message):
    with pytest.raises(errors.InvalidJobRequest) as refused:
        submit(user, upload(wav), **options)
    assert message in refused.value.message
    assert shared_files() == []


def test_six_stem_model_accepts_guitar(user, wav):
    [job] = submit(user, upload(wav), model="htdemucs_6s", two_stems="guitar")
    assert job.two_stems == "guitar"


def test_a_sixth_active_job_waits_with_retry_after(user, wav):
    credits_adjust(user=user, delta=10, note="test")
    submit(user, *[upload(wav, f"{i}.wav") for i in range(5)])
    with pytest.raises(errors.TooManyActiveJobs) as refused:
        submit(user, upload(wav))
    assert refused.value.status_code == 429
    assert refused.value.retry_after >= 5
    assert "5 of 5" in refused.value.message
    assert Job.objects.count() == 5
    assert account_for_user(user).balance == 8


def test_a_batch_is_all_or_nothing(user, wav):
    with pytest.raises(InsufficientCredits) as refused:
        submit(user, *[upload(wav, f"{i}.wav") for i in range(4)])
    assert refused.value.status_code == 402
    assert "You have 3 credits" in refused.value.message
    assert not Job.objects.exists()
    assert account_for_user(user).balance == 3
    assert shared_files() == []


def test_one_bad_file_refuses_the_whole_batch(user, wav):
    with pytest.raises(errors.InvalidAudio):
        submit(user, upload(wav, "good.wav"), upload(b"", "bad.wav"))
    assert not Job.objects.exists()
    assert shared_files() == []


def test_file_names_are_only_for_display(user, wav):
    [job] = submit(user, upload(wav, "../../etc/passwd\x00.wav"))
    assert job.original_filename == "passwd.wav"
    assert storage.canonical_path(job).parent == storage.upload_dir(job)
