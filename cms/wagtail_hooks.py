"""Wagtail admin: a "Separate again" action on the sample song snippet."""

from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, path, reverse
from wagtail import hooks
from wagtail.admin.widgets import Button

from . import admin_views
from .models import SampleSong


@hooks.register("register_admin_urls")
def register_admin_urls() -> list[URLPattern]:
    return [
        path(
            "sample-songs/<int:pk>/separate/",
            admin_views.sample_song_rerun,
            name="cms_sample_song_rerun",
        )
    ]


@hooks.register("register_snippet_listing_buttons")
def sample_song_buttons(
    snippet: Any, user: Any, next_url: str | None = None
) -> Iterator[Button]:
    if isinstance(snippet, SampleSong) and user.has_perm("cms.change_samplesong"):
        yield Button(
            "Separate again",
            reverse("cms_sample_song_rerun", args=[snippet.pk]),
            icon_name="resubmit",
            priority=30,
        )
