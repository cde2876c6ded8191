"""Every time limit of a job comes from one module, and they agree."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.services import account_for_user
from jobs import budget
from jobs.checks import time_limits_check
from jobs.intake import errors
from jobs.models import Job
from stemworker import runner as stemworker_runner
from stemworker.config import Settings as StemworkerSettings
from tests.helpers.audio import song_bytes
from tests.helpers.jobs import submit
from tests.helpers.stored import shared_files

pytestmark = pytest.mark.django_db


def test_the_defaults_admit_every_allowed_song_on_every_model(settings):
    # The stemworker's own default cap, not our copy of it.
    cap = StemworkerSettings.model_fields["job_timeout"].default
    longest_song = settings.MAX_AUDIO_MINUTES * 60
    for model in settings.DEMUCS_MODELS:
        timeout = budget.separation_timeout_seconds(model=model, duration=longest_song)
        assert timeout <= cap, model
        assert budget.longest_admissible_seconds(model=model) == longest_song
    assert settings.STEMWORKER_JOB_TIMEOUT == cap
    assert time_limits_check() == []


def test_our_copy_of_the_stemworkers_start_up_grace_is_right():
    assert (
        budget.STEMWORKER_STARTUP_GRACE_SECONDS
        == stemworker_runner.STARTUP_GRACE_SECONDS
    )


def test_the_reaper_waits_past_the_stemworkers_own_timeout():
    job = Job(model="htdemucs_ft", duration_seconds=600)
    separation = budget.separation_timeout_seconds(model=job.model, duration=600)
    # The stemworker kills a separation at most grace + timeout after accepting it.
    stemworker_kills_by = separation + stemworker_runner.STARTUP_GRACE_SECONDS
    assert budget.running_budget_seconds(model=job.model, duration=600) > (
        stemworker_kills_by
    )


def test_a_turn_outlasts_the_longest_wait_and_the_longest_job(settings):
    longest = max(
        budget.running_budget_seconds(
            model=model, duration=budget.longest_admissible_seconds(model=model)
        )
        for model in settings.DEMUCS_MODELS
    )
    assert budget.turn_timeout_seconds() >= (
        settings.STEMWORKER_WAIT_SECONDS + settings.STEMWORKER_DOWN_SECONDS + longest
    )


def test_a_song_its_model_cannot_finish_within_the_cap_is_refused_at_upload(
    user, tmp_path, settings
):
    settings.STEMWORKER_JOB_TIMEOUT = 600  # htdemucs_ft: about 28 s of audio
    song = SimpleUploadedFile("Long Song.wav", song_bytes(tmp_path, seconds=40.0))
    with pytest.raises(errors.InvalidAudio) as refused:
        submit(user, song, model="htdemucs_ft")
    message = refused.value.message
    assert "“Long Song.wav” is 40 s long" in message
    assert "htdemucs_ft" in message and "28 s at most" in message
    assert account_for_user(user).balance == 3
    assert not Job.objects.exists()
    assert shared_files() == []
    song.seek(0)
    [job] = submit(user, song, model="htdemucs")  # a faster model takes it
    assert job.model == "htdemucs"


def _reported() -> set[tuple[str, str]]:
    """(check id, the first word of its message) of each start-up finding."""
    return {
        (found.id or "", found.msg.split(" ", 1)[0]) for found in time_limits_check()
    }


def test_limits_that_disagree_are_reported_at_start_up(settings):
    settings.JOB_HEARTBEAT_TIMEOUT_SECONDS = 5
    settings.STEMWORKER_JOB_TIMEOUT = 3600
    assert ("jobs.E001", "JOB_HEARTBEAT_TIMEOUT_SECONDS") in _reported()
    assert ("jobs.W001", "htdemucs_ft") in _reported()
    settings.STEMWORKER_JOB_TIMEOUT = 60
    assert ("jobs.E001", "STEMWORKER_JOB_TIMEOUT") in _reported()
