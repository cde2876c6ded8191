"""allauth hooks: every new account, email or social, passes through here."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from core.client_ip import client_ip

from .services import user_email_confirmed, user_signed_up


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": (
            "Too many failed sign-in attempts for this address. Wait five minutes "
            "and try again, or reset your password."
        ),
        "rate_limited": "You are going a bit fast. Wait a minute and try again.",
    }

    def get_client_ip(self, request: HttpRequest) -> str:
        """The address allauth's per-IP limits count: the same as the API's."""
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine the client's address.")
        return ip

    def confirm_email(self, request: HttpRequest, email_address: Any) -> Any:
        """An address confirmed, at sign-up or on an email change."""
        confirmed = super().confirm_email(request, email_address)
        user_email_confirmed(user=email_address.user, email=email_address.email)
        return confirmed

    def save_user(
        self, request: HttpRequest, user: Any, form: Any, commit: bool = True
    ) -> Any:
        """Email signups, and social signups that went through the signup form."""
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            user_signed_up(user=user)
        return user


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def save_user(
        self, request: HttpRequest, sociallogin: Any, form: Any = None
    ) -> Any:
        user = super().save_user(request, sociallogin, form=form)
        # With a form, AccountAdapter.save_user has already run the signup hook.
        if form is None:
            user_signed_up(user=user)
        return user

    def get_app(
        self, request: HttpRequest, provider: Any, client_id: Any = None
    ) -> Any:
        """A provider without credentials in the environment does not exist here."""
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise Http404(f"Sign-in with {provider} is not configured.") from None
