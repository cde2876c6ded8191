"""The sample song snippet in the Wagtail admin: a Stems column saying where its
separation stands, and help text that says what "Separate again" does."""

import re

import django_rq
import pytest
from django.test import Client

from cms.models import SampleSong

pytestmark = pytest.mark.django_db

LISTING = "/cms/snippets/cms/samplesong/"


def test_the_listing_shows_where_each_separation_stands(admin_client: Client) -> None:
    SampleSong.objects.create(title="Done song", status=SampleSong.Status.READY)
    SampleSong.objects.create(title="Waiting song")
    SampleSong.objects.create(
        title="Broken song",
        status=SampleSong.Status.FAILED,
        error="The stemworker does not offer htdemucs_6s.",
    )
    html = admin_client.get(LISTING).content.decode()
    assert re.search(r">\s*Stems\s*</a>", html) and "Why it failed" in html
    tags = re.findall(r'<span class="(w-status[^"]*)">\s*([^<]+?)\s*</span>', html)
    assert sorted(tags) == [
        ("w-status", "Separation failed"),
        ("w-status", "Waiting for separation"),
        ("w-status w-status--primary", "Ready"),
    ]
    assert "The stemworker does not offer htdemucs_6s." in html
    sorted_page = admin_client.get(LISTING, {"ordering": "status"})
    assert sorted_page.status_code == 200


def test_the_help_text_says_what_separate_again_does(
    admin_client: Client, django_capture_on_commit_callbacks
) -> None:
    song = SampleSong.objects.create(title="Editor song", status="ready")
    edit = admin_client.get(f"{LISTING}edit/{song.pk}/").content.decode()
    assert "load_demo_content --rerun" not in edit
    assert "Saving separates nothing: “Separate again”" in edit
    assert "htdemucs_6s (six stems)" in edit

    # What the text promises: saving queues nothing; the action queues the
    # separation (the RQ worker's part is tests/cms/test_demo_content.py's).
    queue = django_rq.get_queue("default")
    url = f"{LISTING}{song.pk}/separate/"
    assert url in admin_client.get(LISTING).content.decode()
    page = admin_client.get(url).content.decode()
    assert "queues it for the RQ worker" in page
    assert "“Waiting for separation”" in page
    assert queue.count == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(url).status_code == 302
    song.refresh_from_db()
    assert song.status == SampleSong.Status.PENDING
    [job] = queue.jobs
    assert job.func_name == "cms.tasks.sample_song_rerun_task"
    assert job.args == (song.pk,)
