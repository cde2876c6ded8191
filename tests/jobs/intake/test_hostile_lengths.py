"""The length of an upload is what decoding finds, not what its header says
(issue 12): every accepted format, lying in the ways its container allows.

A file that holds more than MAX_AUDIO_MINUTES is refused whatever its header
claims; one that holds less is admitted for what it holds, charged one credit,
and only our canonical decode of it (never more than the cap) is what the
stemworker is given.
"""

from pathlib import Path
from typing import Any

import pytest
import soundfile as sf

from billing.services import account_for_user, ledger_mismatches
from jobs import budget, storage
from jobs.models import Job
from jobs.runner.dispatch import separation_request
from tests.helpers.api import post_jobs, token_client, upload
from tests.helpers.jobs import run_queue
from tests.helpers.lying_audio import LIES, encoded
from tests.helpers.stored import shared_files, stored_copy

pytestmark = pytest.mark.django_db

CAP_MINUTES = 1
CASES = [pytest.param(*case[1:], id=case[0]) for case in LIES]
# The one lie that shortens a file rather than lengthening it: samples past the
# WAV data chunk are not part of the audio, so they are never decoded.
DATA_CHUNK_RULES = "wav-data-size"


@pytest.fixture
def api(user, settings):  # type: ignore[no-untyped-def]
    settings.MAX_AUDIO_MINUTES = CAP_MINUTES
    return token_client(user)


def _post(api: Any, name: str, content: bytes) -> Any:
    return post_jobs(api, upload(content, name), model="htdemucs", output_format="wav")


def _canonical_seconds(job: Job) -> float:
    """The length of the only file the stemworker is handed for this job."""
    path = Path(separation_request(job).input_path)
    assert path == storage.canonical_path(job)
    info = sf.info(str(path))
    assert (info.subtype, info.samplerate, info.channels) == ("FLOAT", 44100, 2)
    return info.frames / info.samplerate


@pytest.mark.parametrize(("extension", "codec", "lie"), CASES)
def test_a_file_holding_more_than_the_cap_is_refused_whatever_it_claims(
    request, api, user, tmp_path, extension, codec, lie
):
    content = lie(encoded(tmp_path, extension, 90.0, *codec), 10.0)
    response = _post(api, f"lie.{extension}", content)
    if request.node.callspec.id == DATA_CHUNK_RULES:
        assert response.status_code == 201, response.content
        job = Job.objects.get(pk=response.json()[0]["id"])
        assert job.duration_seconds == pytest.approx(10.0, abs=0.05)
        assert _canonical_seconds(job) == pytest.approx(job.duration_seconds)
        return
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_audio"
    detail = response.json()["detail"]
    assert detail.startswith(f"“lie.{extension}” ")
    # The length a header admits to when it is past the cap, "longer" otherwise.
    limit = f"{CAP_MINUTES} minute."
    assert detail.endswith((f"the limit is {limit}", f"the limit of {limit}"))
    assert not Job.objects.filter(user=user).exists()
    assert account_for_user(user).balance == 3
    assert not ledger_mismatches()
    assert shared_files() == []


@pytest.mark.parametrize(("extension", "codec", "lie"), CASES)
def test_a_file_is_admitted_and_charged_for_what_it_holds(
    request, api, user, tmp_path, extension, codec, lie
):
    content = lie(encoded(tmp_path, extension, 20.0, *codec), 2.0)
    response = _post(api, f"lie.{extension}", content)
    assert response.status_code == 201, response.content
    job = Job.objects.get(pk=response.json()[0]["id"])
    held = 2.0 if request.node.callspec.id == DATA_CHUNK_RULES else 20.0
    # Codecs pad to whole frames (AAC: 1024 samples): a frame or two at most.
    assert job.duration_seconds == pytest.approx(held, abs=0.15)
    assert _canonical_seconds(job) == pytest.approx(job.duration_seconds)
    assert response.json()[0]["duration_seconds"] == pytest.approx(
        job.duration_seconds, abs=0.01
    )
    assert account_for_user(user).balance == 2
    # Every time limit comes from the counted length, not the claimed one.
    assert separation_request(job).timeout_seconds == (
        budget.separation_timeout_seconds(
            model="htdemucs", duration=job.duration_seconds
        )
    )
    # The upload as it came is gone; only the canonical decode waits.
    assert shared_files() == [storage.canonical_path(job)]


def test_demucs_separates_exactly_what_was_counted(
    api, user, tmp_path, live_stemworker, django_capture_on_commit_callbacks
):
    [flac] = [case for case in LIES if case[0] == "flac-streaminfo"]
    content = flac[3](encoded(tmp_path, "flac", 20.0), 2.0)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(api, "claims-2-s.flac", content)
    assert response.status_code == 201, response.content
    run_queue()
    job = Job.objects.get(pk=response.json()[0]["id"])
    assert job.status == Job.Status.SUCCEEDED, (job.error, job.error_log[-2000:])
    assert job.duration_seconds == pytest.approx(20.0, abs=0.01)
    for stem in job.stems.all():
        with stored_copy(stem.path) as local:
            duration = sf.info(str(local)).duration
        assert duration == pytest.approx(job.duration_seconds, abs=0.05)
    assert account_for_user(user).balance == 2
    assert not ledger_mismatches()
