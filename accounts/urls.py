"""Account pages of our own, next to allauth's under /accounts/."""

from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.account_overview, name="overview"),
    path("tokens/", views.api_tokens, name="tokens"),
    path("tokens/revoke/", views.api_token_revoke, name="token_revoke"),
    path("verify/resend/", views.verification_resend_view, name="verification_resend"),
]
