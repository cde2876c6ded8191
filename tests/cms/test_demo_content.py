"""`load_demo_content` on the real stemworker (tiny random models): the sample
song is made in code, separated with htdemucs and htdemucs_6s, and served."""

import io

import numpy as np
import pytest
import soundfile as sf
from django.core.management import call_command
from wagtail.models import Page

from cms import synth
from cms.models import HomePage, SampleSong, SampleTrack
from tests.helpers.stored import download, is_stored, stored_bytes, stored_copy

pytestmark = pytest.mark.django_db

TWO = ["no_vocals", "vocals"]
SIX = ["bass", "drums", "guitar", "other", "piano", "vocals"]


def tracks(song: SampleSong, stem_set: str) -> list[str]:
    return sorted(song.tracks.filter(stem_set=stem_set).values_list("name", flat=True))


def test_the_sample_song_is_original_music_of_the_right_length() -> None:
    mix = synth.sample_song(24.0)
    assert mix.shape == (24 * synth.RATE, 2)
    assert 0.85 < float(np.abs(mix).max()) <= 0.9
    # Not silence, and not a constant tone: the loudness moves with the beat.
    blocks = np.abs(mix[:, 0]).reshape(-1, synth.RATE // 10).max(axis=1)
    assert blocks.std() > 0.05
    assert np.array_equal(mix, synth.sample_song(24.0))  # deterministic


def test_load_demo_content_builds_the_site_and_the_demo_once(
    client, live_stemworker, capsys
) -> None:
    call_command("load_demo_content", wait=30)
    song = SampleSong.objects.get()
    assert song.status == SampleSong.Status.READY, song.error
    assert tracks(song, "original") == ["mix"]
    assert tracks(song, "two_stems") == TWO
    assert tracks(song, "six_stems") == SIX
    for track in song.tracks.all():
        assert is_stored(track.path)
        assert track.path.is_relative_to(song.folder)
        assert abs(track.duration_seconds - 24.0) < 0.2
        assert len(track.peaks) > 100 and max(track.peaks) > 0
    assert HomePage.objects.get().sample_song == song
    slugs = set(Page.objects.filter(depth=3).values_list("slug", flat=True))
    assert slugs == {"pricing", "terms", "privacy", "about"}

    # Run again: nothing new, nothing separated again.
    ids = sorted(song.tracks.values_list("id", flat=True))
    pages = Page.objects.count()
    call_command("load_demo_content", wait=30)
    assert sorted(song.tracks.values_list("id", flat=True)) == ids
    assert Page.objects.count() == pages
    assert "already separated" in capsys.readouterr().out

    # The landing page shows the three versions in one player each.
    page = client.get("/").content.decode()
    assert page.count('role="tab"') == 3
    assert page.count("<audio") == 1 + 2 + 6
    assert page.count('id="demo-six-stems-data"') == 1
    assert "data-demo-notice" not in page  # every version is there

    # The audio is public, seekable (Range) and plays inline.
    mix = song.tracks.get(stem_set="original")
    response = download(client, f"/demo/audio/{mix.pk}/", HTTP_RANGE="bytes=0-99")
    assert response.status_code == 206
    assert response.headers["Content-Type"] == "audio/mpeg"
    assert response.headers["Content-Disposition"].startswith("inline")
    assert response.content == stored_bytes(mix.path)[:100]


def test_editors_replace_the_song_and_rerun(
    live_stemworker, tmp_path, settings
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    own = tmp_path / "my song.wav"
    sf.write(str(own), synth.sample_song(6.0), synth.RATE)
    call_command("load_demo_content", song=own, title="My song", credit="Me", wait=30)
    song = SampleSong.objects.get()
    assert (song.title, song.credit, song.status) == ("My song", "Me", "ready")
    mix = song.tracks.get(stem_set=SampleTrack.Set.ORIGINAL)
    assert mix.path.suffix == ".wav" and abs(mix.duration_seconds - 6.0) < 0.1
    assert tracks(song, "six_stems") == SIX
    before = set(song.tracks.values_list("id", flat=True))
    call_command("load_demo_content", rerun=True, wait=30)
    after = set(song.tracks.values_list("id", flat=True))
    assert before.isdisjoint(after) and len(after) == 9


def test_without_a_stemworker_the_pages_and_the_original_are_still_made(
    settings,
) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="did not answer"):
        call_command("load_demo_content", wait=0)
    song = SampleSong.objects.get()
    assert song.status == SampleSong.Status.FAILED
    assert tracks(song, "original") == ["mix"]
    assert Page.objects.filter(slug="pricing").exists()
    with stored_copy(song.tracks.get().path) as original:
        assert sf.info(str(original)).duration > 23


def test_the_admin_action_separates_the_song_again(
    admin_client, live_stemworker, django_capture_on_commit_callbacks, settings
) -> None:
    import django_rq
    from django.core.files.base import ContentFile
    from rq.worker import SimpleWorker

    settings.MEDIA_ROOT = settings.SHARED_ROOT / "test-media"
    call_command("load_demo_content", pages_only=True)
    song = SampleSong.objects.get()
    # The editor uploaded a short song of their own on the snippet.
    buffer = io.BytesIO()
    sf.write(buffer, synth.sample_song(5.0), synth.RATE, format="WAV")
    song.source.save("editor song.wav", ContentFile(buffer.getvalue()))
    listing = admin_client.get("/cms/snippets/cms/samplesong/").content.decode()
    url = f"/cms/snippets/cms/samplesong/{song.pk}/separate/"
    assert url in listing
    assert "Separate again" in admin_client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url)
    assert response.status_code == 302
    song.refresh_from_db()
    assert song.status == SampleSong.Status.PENDING
    django_rq.get_worker("default", worker_class=SimpleWorker).work(burst=True)
    song.refresh_from_db()
    assert song.status == SampleSong.Status.READY, song.error
    assert tracks(song, "two_stems") == TWO and tracks(song, "six_stems") == SIX
    mix = song.tracks.get(stem_set="original")
    assert mix.path.suffix == ".wav" and abs(mix.duration_seconds - 5.0) < 0.1


def test_only_editors_may_rerun(client) -> None:
    from tests.helpers.accounts import signed_up_user

    song = SampleSong.objects.create()
    client.force_login(signed_up_user())
    response = client.post(f"/cms/sample-songs/{song.pk}/separate/")
    assert response.status_code in (302, 403)  # Wagtail sends non-editors to login
    song.refresh_from_db()
    assert song.status == SampleSong.Status.PENDING and not song.tracks.exists()
