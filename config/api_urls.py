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
from mixes.api import MixDetailApi, MixDownloadApi, MixListCreateApi
from webhooks.api import (
    CallbackSecretApi,
    CallbackSecretRotateApi,
    WebhookDeliveriesApi,
    WebhookDetailApi,
    WebhookListCreateApi,
    WebhookResendApi,
    WebhookSecretRotateApi,
    WebhookTestApi,
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
    path("jobs/<uuid:pk>/mixes/", MixListCreateApi.as_view(), name="api-job-mixes"),
    path(
        "jobs/<uuid:pk>/mixes/<uuid:mix_id>/",
        MixDetailApi.as_view(),
        name="api-job-mix",
    ),
    path(
        "jobs/<uuid:pk>/mixes/<uuid:mix_id>/download/",
        MixDownloadApi.as_view(),
        name="api-job-mix-download",
    ),
    path("webhooks/", WebhookListCreateApi.as_view(), name="api-webhooks"),
    path(
        "webhooks/callback-secret/",
        CallbackSecretApi.as_view(),
        name="api-webhooks-callback-secret",
    ),
    path(
        "webhooks/callback-secret/rotate/",
        CallbackSecretRotateApi.as_view(),
        name="api-webhooks-callback-secret-rotate",
    ),
    path("webhooks/<uuid:pk>/", WebhookDetailApi.as_view(), name="api-webhook"),
    path(
        "webhooks/<uuid:pk>/rotate-secret/",
        WebhookSecretRotateApi.as_view(),
        name="api-webhook-rotate",
    ),
    path("webhooks/<uuid:pk>/test/", WebhookTestApi.as_view(), name="api-webhook-test"),
    path(
        "webhooks/<uuid:pk>/deliveries/",
        WebhookDeliveriesApi.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "webhooks/<uuid:pk>/deliveries/<uuid:delivery_id>/resend/",
        WebhookResendApi.as_view(),
        name="api-webhook-resend",
    ),
    # Last: anything else under /api/v1/ (a bad id, a missing slash) is a JSON 404.
    # [\s\S]: an id with a line break in it is still a JSON 404, not the site's page.
    re_path(r"^(?P<path>[\s\S]*)$", api_not_found, name="api-not-found"),
]
