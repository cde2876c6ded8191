"""Account pages beyond allauth's: overview and API tokens (closing an
account is closure/, above accounts and jobs)."""

from collections.abc import Callable
from urllib.parse import urlencode

from allauth.account.models import EmailAddress
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.services import account_for_user
from billing.square_client import payments_configured
from core.errors import DomainError

from . import selectors, services
from .forms import ApiTokenCreateForm
from .types import signed_in_user
from .verification import (
    Resend,
    describe_ago,
    describe_wait,
    verification_resend,
    verification_status,
)

View = Callable[..., HttpResponse]


def sign_in_on_the_site(request: HttpRequest) -> HttpResponse:
    """Wagtail's and Django's own login and password pages send people here:
    one way to sign in, with allauth's rate limits, lockout and verification
    gate. Nothing they post is read."""
    if "password_reset" in request.path:
        target = reverse("account_reset_password")
    elif "password_change" in request.path:
        target = reverse("account_change_password")
    else:
        target = reverse("account_login")
    following = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(following, allowed_hosts=None):
        target = f"{target}?{urlencode({'next': following})}"
    return HttpResponseRedirect(target)


@require_POST
def verification_resend_view(request: HttpRequest) -> HttpResponse:
    """The Resend button: a new link, or (inside allauth's cooldown) when the
    last one went out and when another can. For a signed-in person, or one
    whose sign-up or log-in waits in this session for the link."""
    outcome, email = verification_resend(request)
    if outcome is Resend.NOTHING_PENDING:
        messages.info(request, "Log in to ask for a new verification link.")
        return HttpResponseRedirect(reverse("account_login"))
    if outcome is Resend.VERIFIED:
        messages.success(request, "Your email address is already verified.")
        if request.user.is_authenticated:
            return HttpResponseRedirect(reverse("jobs:dashboard"))
        return HttpResponseRedirect(reverse("account_login"))
    if outcome is Resend.WAIT and email:
        messages.info(request, _wait_message(request, email))
    # SENT: allauth has said so ("We sent a new link to …").
    if not request.user.is_authenticated:
        return HttpResponseRedirect(reverse("account_email_verification_sent"))
    following = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        following, allowed_hosts={request.get_host()}
    ):
        following = reverse("accounts:overview")
    return HttpResponseRedirect(following)


def _wait_message(request: HttpRequest, email: str) -> str:
    status = verification_status(request, email=email)
    sent = f" {describe_ago(status.sent_at)}" if status.sent_at else ""
    wait = describe_wait(status.next_at) if status.next_at else "now"
    return (
        f"We sent a link to {email}{sent}; the same link still works. "
        f"You can ask for a new one {wait}."
    )


@login_required
@require_GET
def account_overview(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    entries = selectors.credit_entries_for_user(user=user)
    context = {
        "email_addresses": EmailAddress.objects.filter(user=user).order_by(
            "-primary", "email"
        ),
        "social_accounts": selectors.social_accounts_for_user(user=user),
        "credits": account_for_user(user).balance,
        "credit_entries": [
            (entry, selectors.credit_entry_label(entry)) for entry in entries
        ],
        "credit_history_length": selectors.CREDIT_HISTORY_LENGTH,
        "token_count": selectors.api_tokens_for_user(user=user).count(),
        # Told only when the address is the reason (not, say, an account
        # made by staff without the signup hook).
        "bonus_already_used": not selectors.signup_bonus_granted(user=user)
        and services.bonus_address_known(user.email),
        "payments_configured": payments_configured(),
    }
    return render(request, "accounts/overview.html", context)


def _tokens_page(
    request: HttpRequest, form: ApiTokenCreateForm | None = None, status: int = 200
) -> HttpResponse:
    user = signed_in_user(request)
    context = {
        "tokens": selectors.api_tokens_for_user(user=user),
        "form": form or ApiTokenCreateForm(),
        "max_tokens": services.MAX_API_TOKENS_PER_USER,
    }
    return render(request, "accounts/api_tokens.html", context, status=status)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The list of tokens, and (POST) a new one, whose secret is shown only here."""
    if request.method == "GET":
        return _tokens_page(request)
    form = ApiTokenCreateForm(request.POST)
    if not form.is_valid():
        return _tokens_page(request, form, status=400)
    try:
        token, secret = services.api_token_create(
            user=signed_in_user(request),
            name=form.cleaned_data["name"],
            expires_in=form.expires_in(),
        )
    except DomainError as error:
        form.add_error(None, error.message)
        return _tokens_page(request, form, status=error.status_code)
    # Rendered, not redirected: the secret is never stored, even in the session.
    context = {
        "token": token,
        "secret": secret,
        "me_url": request.build_absolute_uri(reverse("api-me")),
    }
    return render(request, "accounts/api_token_created.html", context)


@login_required
@require_POST
def api_token_revoke(request: HttpRequest) -> HttpResponse:
    digest = request.POST.get("token", "")
    if services.api_token_revoke(user=signed_in_user(request), digest=digest):
        messages.success(request, "The token was revoked; it no longer works.")
    else:
        messages.info(request, "That token had already been revoked.")
    return HttpResponseRedirect(reverse("accounts:tokens"))
