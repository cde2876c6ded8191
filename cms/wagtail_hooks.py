"""Wagtail admin: the sample song snippet, with its "Separate again" action."""

from typing import Any

from django.urls import URLPattern, URLResolver, path, reverse
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.ui.tables import Column, StatusTagColumn
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import IndexView, SnippetViewSet

from . import admin_views
from .models import SampleSong


class SampleSongIndexView(IndexView):
    def get_list_more_buttons(self, instance: Any) -> list[Any]:
        buttons = super().get_list_more_buttons(instance)
        if self.request.user.has_perm("cms.change_samplesong"):
            buttons.append(
                MenuItem(
                    "Separate again",
                    url=reverse(
                        SampleSongViewSet.separate_url_name(), args=[instance.pk]
                    ),
                    icon_name="resubmit",
                    priority=30,
                )
            )
        return buttons


class SampleSongViewSet(SnippetViewSet):
    model = SampleSong
    icon = "media"
    menu_label = "Sample songs"
    # Where the last separation stands: "Separate again" sets it waiting, the
    # RQ worker sets it ready or failed (with the reason in the error).
    list_display = [
        "title",
        StatusTagColumn(
            "status",
            accessor="get_status_display",
            label="Stems",
            sort_key="status",
            primary=lambda song: song.status == SampleSong.Status.READY,
        ),
        Column("error", label="Why it failed"),
        "updated_at",
    ]
    index_view_class = SampleSongIndexView

    @staticmethod
    def separate_url_name() -> str:
        return "wagtailsnippets_cms_samplesong:separate"

    def get_urlpatterns(self) -> list[URLPattern | URLResolver]:
        return [
            *super().get_urlpatterns(),
            path(
                "<int:pk>/separate/",
                admin_views.sample_song_rerun,
                name="separate",
            ),
        ]


register_snippet(SampleSongViewSet)
