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
    filename = f"{track.song.title} - {track.name}{track.path.suffix}"
    try:
        response = downloads.stored_file_response(
            request, track.relative_path, filename=filename, as_attachment=False
        )
    except downloads.StemFileMissing as missing:
        raise Http404("This demo file is missing.") from missing
    if response.status_code != 302:  # a presigned redirect must not be cached
        response["Cache-Control"] = "public, max-age=3600"
    return response
