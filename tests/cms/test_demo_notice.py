"""The landing page's demo when the sample song has not been separated: it says
so (being prepared, or unavailable on this server) instead of silently showing
fewer versions. The stemworker here is real and has no weights at all."""

import shutil
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from cms import presenters
from cms.models import SampleSong
from devtools.stemworker_process import (
    free_port,
    start_stemworker,
    stop_stemworker,
    wait_healthy,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def weightless_stemworker(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """A stemworker whose DEMUCS_REPO is an empty folder (nobody fetched)."""
    repo = tmp_path_factory.mktemp("no-weights")
    port = free_port()
    process = start_stemworker(
        port,
        {
            "STEMWORKER_TOKEN": settings.STEMWORKER_TOKEN,
            "SHARED_ROOT": str(settings.SHARED_ROOT),
            "DEMUCS_REPO": str(repo),
            "DEMUCS_MODELS": "htdemucs,htdemucs_ft,htdemucs_6s",
            "MAX_CONCURRENT_JOBS": "1",
            "STEMWORKER_WARMUP": "false",
        },
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, timeout=60)
        yield url
    finally:
        stop_stemworker(process)
        shutil.rmtree(repo, ignore_errors=True)


def test_a_song_waiting_for_its_separation_is_being_prepared(client) -> None:
    call_command("load_demo_content", pages_only=True)
    assert SampleSong.objects.get().status == SampleSong.Status.PENDING
    page = client.get("/").content.decode()
    assert presenters.PREPARING in page
    assert 'role="status"' in page
    assert page.count("<audio") == 1  # the original plays meanwhile


def test_without_weights_the_demo_fails_at_once_and_says_it_is_unavailable(
    client, settings, weightless_stemworker
) -> None:
    settings.STEMWORKER_URL = weightless_stemworker
    started = time.monotonic()
    with pytest.raises(CommandError, match="htdemucs cannot run on the stemworker"):
        call_command("load_demo_content", wait=30)
    assert time.monotonic() - started < 20  # not a separation that fails later
    song = SampleSong.objects.get()
    assert song.status == SampleSong.Status.FAILED
    assert "weights not found in DEMUCS_REPO" in song.error
    page = client.get("/").content.decode()
    assert presenters.UNAVAILABLE in page
    assert presenters.PREPARING not in page
    assert "unavailable on this server" in page


def test_a_song_whose_stems_are_gone_is_unavailable(client) -> None:
    call_command("load_demo_content", pages_only=True)
    song = SampleSong.objects.get()
    song.status = SampleSong.Status.READY  # separated once, its stems since lost
    song.save()
    page = client.get("/").content.decode()
    assert presenters.UNAVAILABLE in page


def test_a_home_page_without_any_track_still_says_so(client) -> None:
    call_command("load_demo_content", pages_only=True)
    song = SampleSong.objects.get()
    song.tracks.all().delete()
    page = client.get("/").content.decode()
    assert 'id="demo-heading"' in page and presenters.PREPARING in page
    assert "<audio" not in page
