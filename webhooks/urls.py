"""Webhook pages, under /accounts/webhooks/."""

from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("callback-secret/", views.callback_secret_show, name="callback_secret"),
    path(
        "callback-secret/rotate/",
        views.callback_secret_rotate,
        name="callback_secret_rotate",
    ),
    path("<uuid:pk>/", views.endpoint_detail, name="detail"),
    path("<uuid:pk>/rotate/", views.endpoint_rotate, name="rotate"),
    path("<uuid:pk>/test/", views.endpoint_test, name="test"),
    path("<uuid:pk>/toggle/", views.endpoint_toggle, name="toggle"),
    path("<uuid:pk>/delete/", views.endpoint_delete, name="delete"),
    path(
        "<uuid:pk>/deliveries/<uuid:delivery_id>/resend/",
        views.delivery_resend,
        name="resend",
    ),
]
