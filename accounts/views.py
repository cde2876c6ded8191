"""Account pages beyond allauth's: overview, API tokens, closing the account."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account.decorators import reauthentication_required
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.services import account_for_user
from config.exceptions import DomainError
from jobs.models import Job

from . import selectors, services
from .forms import AccountDeleteForm, ApiTokenCreateForm
from .types import signed_in_user

View = Callable[..., HttpResponse]


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


def _confirm_identity(view: View) -> View:
    """allauth's reauthentication (the password) for people who have one; a
    recent sign-in with their provider for social-only people, whom allauth
    would otherwise let through."""
    with_password = reauthentication_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = signed_in_user(request)
        if user.has_usable_password():
            return with_password(request, *args, **kwargs)
        if not selectors.signed_in_recently(request, user=user):
            context = {
                "social_accounts": selectors.social_accounts_for_user(user=user),
                "minutes": settings.ACCOUNT_REAUTHENTICATION_TIMEOUT // 60,
            }
            return render(request, "accounts/confirm_identity.html", context)
        return view(request, *args, **kwargs)

    return wrapper


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@_confirm_identity
def account_delete(request: HttpRequest) -> HttpResponse:
    """Explains exactly what goes, then (POST, confirmed) closes the account."""
    user = signed_in_user(request)
    form = AccountDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.user_delete(user=user)
        logout(request)
        messages.success(
            request, "Your account and everything in it have been deleted. Goodbye!"
        )
        return HttpResponseRedirect("/")
    context = {
        "form": form,
        "job_count": Job.objects.for_user(user).count(),
        "active_job_count": Job.objects.for_user(user).active().count(),
        "token_count": selectors.api_tokens_for_user(user=user).count(),
        "social_accounts": selectors.social_accounts_for_user(user=user),
        "email_addresses": EmailAddress.objects.filter(user=user),
        "credits": account_for_user(user).balance,
        "has_purchases": user.purchases.exists(),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/account_delete.html", context, status=status)
