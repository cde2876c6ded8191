"""The dashboard on a real stemworker that offers a model it cannot load
(mdx_extra: no weights in its repo): the choice is disabled with its reason,
and an upload for it is refused before any credit is taken."""

import io
import re

import pytest
from django.urls import reverse

from billing.services import account_for_user
from jobs.models import Job
from tests.helpers.audio import song_bytes

pytestmark = pytest.mark.django_db

REASON = "weights not found in DEMUCS_REPO"


@pytest.fixture
def page(client, user, settings, live_stemworker):  # type: ignore[no-untyped-def]
    settings.DEMUCS_MODELS = ["mdx_extra", "htdemucs", "htdemucs_6s"]
    client.force_login(user)
    return client


def _select(html: str) -> str:
    match = re.search(r'<select name="model".*?</select>', html, re.S)
    assert match, html
    return match.group(0)


def test_a_model_that_cannot_run_is_a_disabled_choice_with_its_reason(page) -> None:
    html = page.get(reverse("jobs:dashboard")).content.decode()
    select = _select(html)
    option = re.search(r'<option value="mdx_extra"[^>]*>([^<]*)</option>', select)
    assert option, select
    assert "disabled" in option.group(0)
    assert option.group(1).endswith(f"— unavailable: {REASON}")
    # The reason is the select's accessible description as well.
    assert 'aria-describedby="id_model_helptext"' in select
    helptext = re.search(r'<p class="help" id="id_model_helptext">([^<]*)</p>', html)
    assert helptext, html
    assert helptext.group(1) == f"Not available on this server: mdx_extra ({REASON})"
    # The first model that can run is chosen; the others are not disabled.
    assert re.search(r'<option value="htdemucs" selected>', select)
    assert select.count("disabled") == 1
    assert "No model can separate songs" not in html


def test_an_upload_for_it_is_refused_on_the_model_field_with_nothing_charged(
    page, user, tmp_path
) -> None:
    song = io.BytesIO(song_bytes(tmp_path, seconds=1.0))
    song.name = "Song.wav"
    response = page.post(
        reverse("jobs:upload"),
        {"songs": [song], "model": "mdx_extra", "output_format": "mp3"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    error = re.search(r'<p class="error" id="id_model_error"[^>]*>([^<]*)</p>', html)
    assert error, html
    assert "“mdx_extra” cannot run on this server right now" in error.group(1)
    assert "Nothing was charged" in error.group(1)
    assert not Job.objects.exists()
    assert account_for_user(user).balance == 3


def test_when_no_model_can_run_the_dashboard_says_so(page, settings) -> None:
    settings.DEMUCS_MODELS = ["mdx_extra"]
    html = page.get(reverse("jobs:dashboard")).content.decode()
    assert "No model can separate songs on this server right now" in html
    assert "disabled" in _select(html)


def test_without_the_stemworker_every_model_stays_a_choice(
    client, user, settings
) -> None:
    settings.DEMUCS_MODELS = ["mdx_extra", "htdemucs"]
    client.force_login(user)
    select = _select(client.get(reverse("jobs:dashboard")).content.decode())
    assert "disabled" not in select and "unavailable" not in select
