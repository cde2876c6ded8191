"""Public audio of the landing-page demo, served with Range support."""

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from jobs.delivery import downloads

from .models import SampleTrack


@require_GET
def demo_audio(request: HttpRequest, pk: int) -> HttpResponseBase:
    track = get_object_or_404(SampleTrack.objects.select_related("song"), pk=pk)
    if not track.path.is_file():
        raise Http404("This demo file is missing.")
    filename = f"{track.song.title} - {track.name}{track.path.suffix}"
    response = downloads.file_response(
        request, track.path, filename=filename, as_attachment=False
    )
    response["Cache-Control"] = "public, max-age=3600"
    return response
