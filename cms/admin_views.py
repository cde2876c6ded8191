"""The sample song's "Separate again" admin action (behind Wagtail's admin login)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from . import demo
from .models import SampleSong


def sample_song_rerun(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.has_perm("cms.change_samplesong"):
        raise PermissionDenied
    song = get_object_or_404(SampleSong, pk=pk)
    if request.method == "POST":
        demo.sample_song_rerun_enqueue(song)
        messages.success(
            request,
            f"“{song.title}” is being separated again with htdemucs and "
            "htdemucs_6s; the demo shows the new stems in a few minutes.",
        )
        return HttpResponseRedirect(reverse("wagtailsnippets_cms_samplesong:list"))
    return render(
        request,
        "cms/admin/sample_song_rerun.html",
        {"song": song, "pending_label": SampleSong.Status.PENDING.label},
    )
