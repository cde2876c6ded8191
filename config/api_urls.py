"""Routes under /api/v1/."""

from django.urls import path, re_path

from core.api import api_not_found
from jobs.delivery.api.views import (
    JobDetailApi,
    JobListCreateApi,
    JobZipApi,
    MeApi,
    ModelListApi,
    StemDownloadApi,
)

urlpatterns = [
    path("me/", MeApi.as_view(), name="api-me"),
    path("models/", ModelListApi.as_view(), name="api-models"),
    path("jobs/", JobListCreateApi.as_view(), name="api-jobs"),
    path("jobs/<uuid:pk>/", JobDetailApi.as_view(), name="api-job"),
    path("jobs/<uuid:pk>/download/", JobZipApi.as_view(), name="api-job-zip"),
    path(
        "jobs/<uuid:pk>/stems/<slug:name>/",
        StemDownloadApi.as_view(),
        name="api-job-stem",
    ),
    # Last: anything else under /api/v1/ (a bad id, a missing slash) is a JSON 404.
    re_path(r"^(?P<path>.*)$", api_not_found, name="api-not-found"),
]
