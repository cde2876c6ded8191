"""allauth hooks: every new account, email or social, passes through here."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from billing.square_client import payments_configured
from core.client_ip import client_ip

from .selectors import signup_bonus_granted
from .services import user_email_confirmed, user_has_verified_email, user_signed_up
from .verification import verification_sent_record


def _bonus_already_used_message() -> SafeString:
    """Told once the person has shown the mailbox is theirs (never before:
    it would tell anyone that an address had an account here)."""
    text = format_html(
        "This email address already received its {} free credits once, so this "
        "account starts with none.",
        settings.FREE_CREDITS,
    )
    if payments_configured():
        return format_html(
            '{} <a href="{}">Buy credits</a> to separate songs.',
            text,
            reverse("billing:credits"),
        )
    return text


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": (
            "Too many failed log-in attempts for this address. Wait five minutes "
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
        first = not (
            EmailAddress.objects.filter(user_id=email_address.user_id, verified=True)
            .exclude(pk=email_address.pk)
            .exists()
        )
        confirmed = super().confirm_email(request, email_address)
        user_email_confirmed(user=email_address.user, email=email_address.email)
        if confirmed and first and not signup_bonus_granted(user=email_address.user):
            messages.info(request, _bonus_already_used_message())
        return confirmed

    def send_confirmation_mail(
        self, request: HttpRequest, emailconfirmation: Any, signup: bool
    ) -> None:
        super().send_confirmation_mail(request, emailconfirmation, signup)
        verification_sent_record(email=emailconfirmation.email_address.email)

    def send_account_already_exists_mail(self, email: str) -> None:
        """Sent instead of a link when someone signs up with a taken address:
        recorded alike, so the page says the same either way."""
        super().send_account_already_exists_mail(email)
        verification_sent_record(email=email)

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
        # A provider-verified address is proof enough that the mailbox is theirs.
        if user_has_verified_email(user=user) and not signup_bonus_granted(user=user):
            messages.info(request, _bonus_already_used_message())
        return user

    def get_app(
        self, request: HttpRequest, provider: Any, client_id: Any = None
    ) -> Any:
        """A provider without credentials in the environment does not exist here."""
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise Http404(f"Logging in with {provider} is not configured.") from None
